#include "core/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>

#include "core/config_schema.h"

namespace cb {

NodeArrayConfig Config::node_array(std::string_view name) const {
    for (const auto& array : node_arrays) {
        if (array.name == name) {
            return array;
        }
    }
    return default_node_array(*this, name);
}

std::string url_host(std::string_view url) {
    const auto scheme = url.find("://");
    if (scheme == std::string_view::npos) {
        return "";
    }
    std::string_view rest = url.substr(scheme + 3);
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
        rest.remove_prefix(at + 1);
    }
    if (rest.starts_with('[')) {
        return std::string(rest.substr(1, rest.find(']') - 1));
    }
    return std::string(rest.substr(0, rest.find(':')));
}

bool is_loopback_host(std::string_view host) {
    std::string name(host);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name == "localhost") {
        return true;
    }
    in_addr v4{};
    if (::inet_pton(AF_INET, name.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    return ::inet_pton(AF_INET6, name.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

namespace {

bool is_http(std::string_view url) {
    return url.starts_with("http://");
}

}  // namespace

std::string cleartext_url_refusal(const CycleCloudConfig& cc) {
    const std::string host = url_host(cc.url);
    if (!is_http(cc.url) || is_loopback_host(host) || cc.allow_insecure_http) {
        return "";
    }
    return "is http:// to " + host +
           ", which is not this machine: the CycleCloud password would cross the network in "
           "clear text with every request; use https://, or, only on a network where you "
           "accept that, set 'cyclecloud.allow_insecure_http = true'";
}

std::string transport_warning(const CycleCloudConfig& cc) {
    const std::string host = url_host(cc.url);
    if (is_http(cc.url)) {
        if (is_loopback_host(host)) {
            return "";
        }
        return "cyclecloud.url is http:// to " + host +
               " (cyclecloud.allow_insecure_http = true): the CycleCloud password crosses the "
               "network in clear text with every request, readable by anyone on the way; switch "
               "CycleCloud to https://, set that URL and remove allow_insecure_http";
    }
    if (!cc.verify_tls) {
        return "cyclecloud.verify_tls = false: CycleCloud's certificate is not checked, so "
               "anyone on the way to " +
               host +
               " can pose as CycleCloud and collect the password; put CycleCloud's CA "
               "certificate in a file, set cyclecloud.ca_bundle to it (or install it in the "
               "system's CA store) and remove verify_tls";
    }
    return "";
}

}  // namespace cb
