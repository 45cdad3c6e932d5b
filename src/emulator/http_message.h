// HTTP requests and responses as plain data, so the API can be served (http_server.cpp, the
// only includer of cpp-httplib) and tested without a socket library in sight.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cb::emulator {

struct HttpRequest {
    std::string method;                                      // "GET", "POST", ...
    std::string path;                                        // decoded, without the query
    std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
    std::string body;
    std::string authorization;  // the Authorization header; empty if absent

    // The first value of a query parameter.
    std::optional<std::string> query_value(std::string_view name) const {
        for (const auto& [key, value] : query) {
            if (key == name) {
                return value;
            }
        }
        return std::nullopt;
    }
};

struct HttpResponse {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace cb::emulator
