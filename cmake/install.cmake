# `cmake --install` and the packages (CPack): where every file goes and why.
#   bin/cloudburst                      the operator CLI
#   sbin/cloudburstd                    the daemon (cloudburstd(8), started by systemd)
#   libexec/cloudburst/cloudburst-*     Slurm's ResumeProgram, SuspendProgram, ResumeFailProgram:
#                                       run by slurmctld, never by a user
#   <systemd unit dir>/cloudburstd.service
#   share/cloudburst/                   example config, CycleCloud template, cluster-init project,
#                                       sample prices, grafana/cloudburst.json (the dashboard)
#   share/man/man{1,5,8}/               cloudburst(1), cloudburst.toml(5), cloudburstd(8)
#   share/bash-completion/completions/cloudburst
#   share/doc/cloudburst/               README and the docs
#   /etc/logrotate.d/cloudburst         the daemon's log rotation (a conffile: an admin's edit
#                                       survives upgrades)
# The config and the password file are the site's, written by `cloudburst init`; the package
# does not own them, so no upgrade can overwrite them. The emulator and the test tools are not
# installed. Packages are built from a tree configured with CMAKE_INSTALL_PREFIX=/usr
# (scripts/package.sh), so that the absolute paths above are the system's.
set(CLOUDBURST_SYSTEMD_UNIT_DIR "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" CACHE PATH
  "Where the systemd unit is installed")

install(TARGETS cloudburst RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS cloudburstd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS cloudburst-resume cloudburst-suspend cloudburst-resume-fail cloudburst-prolog
  RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/cloudburst)

# The unit names the daemon by its installed path.
file(READ ${CMAKE_SOURCE_DIR}/packaging/cloudburstd.service cb_unit)
string(REPLACE "/usr/sbin/cloudburstd" "${CMAKE_INSTALL_FULL_SBINDIR}/cloudburstd" cb_unit
  "${cb_unit}")
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/packaging/cloudburstd.service CONTENT "${cb_unit}")
install(FILES ${CMAKE_BINARY_DIR}/packaging/cloudburstd.service
  DESTINATION ${CLOUDBURST_SYSTEMD_UNIT_DIR})

install(FILES packaging/logrotate/cloudburst
  DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/logrotate.d)

install(FILES docs/cloudburst.example.toml templates/slurm-headless.txt packaging/prices-sample.csv
  DESTINATION ${CMAKE_INSTALL_DATADIR}/cloudburst)
install(FILES packaging/grafana/cloudburst.json
  DESTINATION ${CMAKE_INSTALL_DATADIR}/cloudburst/grafana)
install(DIRECTORY templates/cluster-init DESTINATION ${CMAKE_INSTALL_DATADIR}/cloudburst
  USE_SOURCE_PERMISSIONS)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# Shell completion, written by the CLI itself from its own commands and options.
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/packaging/cloudburst.bash
  COMMAND cloudburst completion bash > ${CMAKE_BINARY_DIR}/packaging/cloudburst.bash
  DEPENDS cloudburst
  COMMENT "Writing the bash completion")
add_custom_target(cb_completion ALL DEPENDS ${CMAKE_BINARY_DIR}/packaging/cloudburst.bash)
install(FILES ${CMAKE_BINARY_DIR}/packaging/cloudburst.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME cloudburst)

# Man pages, from Markdown (packaging/man/*.md and the generated docs/configuration.md) by
# go-md2man (Debian's go-md2man, EPEL's golang-github-cpuguy83-md2man).
find_program(CB_MD2MAN go-md2man)
set(cb_have_md2man OFF)
if(CB_MD2MAN)
  set(cb_have_md2man ON)
endif()
option(CLOUDBURST_MAN "Build and install the man pages (needs go-md2man)" ${cb_have_md2man})
if(CLOUDBURST_MAN)
  if(NOT CB_MD2MAN)
    message(FATAL_ERROR "CLOUDBURST_MAN is on but go-md2man was not found")
  endif()
  set(cb_man_pages)
  foreach(page cloudburst.1 cloudburstd.8 cloudburst.toml.5)
    string(REGEX MATCH "[0-9]$" section ${page})
    set(out ${CMAKE_BINARY_DIR}/man/${page})
    if(page STREQUAL "cloudburst.toml.5")
      set(src ${CMAKE_SOURCE_DIR}/docs/configuration.md)
      set(head ${CMAKE_SOURCE_DIR}/packaging/man/cloudburst.toml.5.head)
    else()
      set(src ${CMAKE_SOURCE_DIR}/packaging/man/${page}.md)
      set(head "")
    endif()
    add_custom_command(OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND} -DMD2MAN=${CB_MD2MAN} -DHEAD=${head} -DIN=${src} -DOUT=${out}
        -P ${CMAKE_SOURCE_DIR}/cmake/man_page.cmake
      DEPENDS ${src} ${head} ${CMAKE_SOURCE_DIR}/cmake/man_page.cmake
      COMMENT "Writing the man page ${page}")
    list(APPEND cb_man_pages ${out})
    install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endforeach()
  add_custom_target(cb_man ALL DEPENDS ${cb_man_pages})
endif()

include(cmake/package.cmake)
