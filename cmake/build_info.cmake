# Run at build time (cmake -P): writes OUT from IN with the git commit of SOURCE_DIR. The file
# is rewritten only when its text changes, so an unchanged commit rebuilds nothing.
# Inputs: SOURCE_DIR, IN, OUT, CB_VERSION, FALLBACK_COMMIT (used outside a git checkout).
set(CB_COMMIT "${FALLBACK_COMMIT}")
if(NOT CB_COMMIT)
  set(CB_COMMIT unknown)
endif()
find_program(GIT git)
if(GIT AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT}" -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
    OUTPUT_VARIABLE head RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(rc EQUAL 0 AND head MATCHES "^[0-9a-f]+$")
    set(CB_COMMIT "${head}")
    # Tracked files changed since that commit: say so, a build from them is not that commit.
    execute_process(COMMAND "${GIT}" -C "${SOURCE_DIR}" diff --quiet HEAD --
      RESULT_VARIABLE dirty OUTPUT_QUIET ERROR_QUIET)
    if(dirty EQUAL 1)
      string(APPEND CB_COMMIT "-dirty")
    endif()
  endif()
endif()
configure_file("${IN}" "${OUT}" @ONLY)
