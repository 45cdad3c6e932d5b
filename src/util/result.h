// Result<T>: either a value or an Error. Used at every module boundary instead of exceptions.
//
//   Result<Config> load(...);
//   auto cfg = load(path);
//   if (!cfg) return cfg.error().with_context("loading config");
//   use(*cfg);
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "util/error.h"

namespace cb {

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : m_data(std::in_place_index<0>, std::move(value)) {}      // NOLINT
    Result(Error error) : m_data(std::in_place_index<1>, std::move(error)) {}  // NOLINT

    bool ok() const { return m_data.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(m_data);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(m_data);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(m_data));
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const& {
        assert(!ok());
        return std::get<1>(m_data);
    }
    Error&& error() && {
        assert(!ok());
        return std::get<1>(std::move(m_data));
    }

  private:
    std::variant<T, Error> m_data;
};

// Result<void>: success carries no value.
template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : m_error(std::move(error)), m_ok(false) {}  // NOLINT

    bool ok() const { return m_ok; }
    explicit operator bool() const { return ok(); }
    const Error& error() const& {
        assert(!ok());
        return m_error;
    }
    Error&& error() && {
        assert(!ok());
        return std::move(m_error);
    }

  private:
    Error m_error;
    bool m_ok = true;
};

using Status = Result<void>;

inline Status ok_status() {
    return {};
}

}  // namespace cb
