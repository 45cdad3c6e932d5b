# Packages (CPack): a .deb and an .rpm of what cmake/install.cmake installs, for the
# distribution they are built on (scripts/package.sh). Library dependencies are computed from
# the binaries (dpkg-shlibdeps, rpmbuild's automatic requirements), so a package depends on
# exactly the libraries of the distribution that built it.
set(CPACK_PACKAGE_NAME cloudburst)
set(CPACK_PACKAGE_VENDOR "cloudburst")
set(CPACK_PACKAGE_CONTACT "cloudburst maintainers <cloudburst@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "burst a Slurm cluster into Azure through CycleCloud")
set(CPACK_PACKAGE_DESCRIPTION "cloudburst lets a Slurm cluster overflow into Azure through \
Azure CycleCloud and shrink back when the work is done: Slurm's power-saving programs, a \
daemon that talks to CycleCloud, and an operator CLI (init, doctor, scale, nodes, why).")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1 CACHE STRING "Debian revision, e.g. 1+deb12")
set(CPACK_RPM_PACKAGE_RELEASE 1 CACHE STRING "RPM release, e.g. 1.el9")

# The maintainer scripts never start the daemon: `cloudburst init` does, once the config
# exists. On upgrade a running daemon is restarted; on removal it is stopped.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser | passwd, util-linux")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "slurmctld, slurm-client, munge, logrotate")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nfs-kernel-server")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/packaging/deb/conffiles ${CMAKE_SOURCE_DIR}/packaging/deb/postinst
  ${CMAKE_SOURCE_DIR}/packaging/deb/prerm ${CMAKE_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_LICENSE "Proprietary")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_REQUIRES "util-linux")
set(CPACK_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_USER_FILELIST "%config(noreplace) /etc/logrotate.d/cloudburst")
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${CMAKE_SOURCE_DIR}/packaging/rpm/post)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${CMAKE_SOURCE_DIR}/packaging/rpm/preun)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${CMAKE_SOURCE_DIR}/packaging/rpm/postun)
# Directories the system owns: the package must not claim them.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
  /etc/logrotate.d /usr/lib/systemd /usr/lib/systemd/system /usr/libexec
  /usr/share/bash-completion /usr/share/bash-completion/completions
  /usr/share/man /usr/share/man/man1 /usr/share/man/man5 /usr/share/man/man8)

include(CPack)
