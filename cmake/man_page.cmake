# Run at build time (cmake -P): OUT = go-md2man(HEAD + IN). HEAD, when set, is a title block
# put before IN (a generated document that cannot carry one itself); IN's level-1 title and
# HTML comments are dropped from it, and its key tables become definition lists (a table of
# long descriptions is wider than any terminal in man).
set(text "")
if(HEAD)
  file(READ "${HEAD}" text)
  file(READ "${IN}" body)
  string(REGEX REPLACE "^# [^\n]*\n" "" body "${body}")
  string(REGEX REPLACE "<!--[^>]*-->\n?" "" body "${body}")
  string(REGEX REPLACE "\n\\| key \\| type \\| default \\| description \\|\n\\|---\\|---\\|---\\|---\\|" ""
    body "${body}")
  string(REGEX REPLACE "\n\\| `([^`\n]+)` \\| ([^|\n]*) \\| ([^|\n]*) \\| ([^\n]*) \\|"
    "\n**\\1** (\\2; default: \\3)\n:   \\4\n" body "${body}")
  string(APPEND text "${body}")
else()
  file(READ "${IN}" text)
endif()
get_filename_component(dir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
file(WRITE "${OUT}.md" "${text}")
execute_process(COMMAND "${MD2MAN}" -in "${OUT}.md" -out "${OUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "go-md2man failed on ${IN}")
endif()
