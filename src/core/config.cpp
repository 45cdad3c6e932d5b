#include "core/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "core/config_schema.h"
#include "util/sanitize.h"

namespace cb {

NodeArrayConfig Config::node_array(std::string_view name) const {
    for (const auto& array : node_arrays) {
        if (array.name == name) {
            return array;
        }
    }
    return default_node_array(*this, name);
}

std::optional<PartitionBudget> parse_partition_budget(std::string_view item) {
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
        return std::nullopt;
    }
    const std::string_view name = item.substr(0, eq);
    const std::string_view amount = item.substr(eq + 1);
    // Plain decimal only: from_chars would also take "1e3", "inf" and "0x10".
    const bool decimal = !amount.empty() && std::all_of(amount.begin(), amount.end(), [](char c) {
        return (c >= '0' && c <= '9') || c == '.';
    });
    double monthly = 0;
    const auto* end = amount.data() + amount.size();
    const auto [p, ec] = std::from_chars(amount.data(), end, monthly, std::chars_format::fixed);
    if (!is_plain_name(name) || !decimal || ec != std::errc() || p != end ||
        !std::isfinite(monthly) || monthly <= 0 || monthly > 1e9) {
        return std::nullopt;
    }
    return PartitionBudget{std::string(name), monthly};
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

bool is_tls_pin(std::string_view text) {
    constexpr std::string_view k_prefix = "sha256//";
    constexpr std::size_t k_base64_size = 44;  // 32 bytes: 43 characters and one '='
    const auto base64 = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '/';
    };
    while (true) {
        const std::string_view pin = text.substr(0, text.find(';'));
        if (!pin.starts_with(k_prefix) || pin.size() != k_prefix.size() + k_base64_size) {
            return false;
        }
        const std::string_view digest = pin.substr(k_prefix.size());
        if (!std::all_of(digest.begin(), digest.end() - 1, base64) || digest.back() != '=') {
            return false;
        }
        if (pin.size() == text.size()) {
            return true;
        }
        text.remove_prefix(pin.size() + 1);
    }
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
               " can pose as CycleCloud and collect the password; pin CycleCloud's key with "
               "`cloudburst init --tls-pin` (init shows it), or put CycleCloud's CA certificate "
               "in a file and set cyclecloud.ca_bundle to it, and remove verify_tls";
    }
    return "";
}

Duration Config::longest_resume_timeout() const {
    Duration longest = slurm.resume_timeout;
    for (const auto& a : node_arrays) {
        longest = std::max(longest, a.resume_timeout);
    }
    return longest;
}

}  // namespace cb
