// Owns a file descriptor: closes it when the owner goes out of scope (every return path).
#pragma once

#include <unistd.h>

namespace cb {

class UniqueFd {
  public:
    explicit UniqueFd(int fd) : m_fd(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    int get() const { return m_fd; }

  private:
    int m_fd;
};

}  // namespace cb
