#include "emulator/template_value.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "util/text.h"

namespace cb::emulator {

namespace {

bool all_digits(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
            return false;
        }
    }
    return true;
}

std::optional<std::string> unquote(std::string_view text) {
    if (text.size() < 2 || text.front() != text.back() ||
        (text.front() != '"' && text.front() != '\'')) {
        return std::nullopt;
    }
    std::string out;
    for (std::size_t i = 1; i + 1 < text.size(); ++i) {
        if (text[i] == '\\' && i + 2 < text.size()) {
            ++i;
        }
        out += text[i];
    }
    return out;
}

Error expression_error(std::string message) {
    return make_error(ErrorKind::k_config, std::move(message));
}

bool truthy(const TemplateValue& v) {
    struct Visitor {
        bool operator()(std::monostate) const { return false; }
        bool operator()(bool b) const { return b; }
        bool operator()(std::int64_t i) const { return i != 0; }
        bool operator()(double d) const { return d != 0; }
        bool operator()(const std::string& s) const { return !s.empty(); }
    };
    return std::visit(Visitor{}, v);
}

std::optional<double> as_number(const TemplateValue& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return static_cast<double>(*i);
    }
    if (const auto* d = std::get_if<double>(&v)) {
        return *d;
    }
    return std::nullopt;
}

bool values_equal(const TemplateValue& a, const TemplateValue& b) {
    const auto na = as_number(a);
    const auto nb = as_number(b);
    if (na && nb) {
        return *na == *nb;
    }
    return a == b;
}

// A recursive-descent evaluator over the expression text. Each parse_* returns the value of
// what it consumed; the first error is kept in m_error and makes every later step return at
// once (so values are plain TemplateValues, not Results, until run() hands one out).
class Evaluator {
  public:
    Evaluator(std::string_view text, const NameLookup& lookup) : m_text(text), m_lookup(lookup) {}

    Result<TemplateValue> run() {
        TemplateValue value = parse_or();
        skip_space();
        if (!m_error && m_pos != m_text.size()) {
            fail(fmt::format("unexpected '{}' at column {}", m_text.substr(m_pos, 1), m_pos + 1));
        }
        if (m_error) {
            return *m_error;
        }
        return value;
    }

  private:
    TemplateValue fail(std::string message) {
        if (!m_error) {
            m_error = expression_error(std::move(message));
        }
        return {};
    }
    void skip_space() {
        while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos]))) {
            ++m_pos;
        }
    }
    bool accept(std::string_view token) {
        skip_space();
        if (m_text.substr(m_pos, token.size()) == token) {
            m_pos += token.size();
            return true;
        }
        return false;
    }

    TemplateValue parse_or() {
        TemplateValue left = parse_and();
        while (!m_error && accept("||")) {
            const TemplateValue right = parse_and();
            left = truthy(left) || truthy(right);
        }
        return left;
    }

    TemplateValue parse_and() {
        TemplateValue left = parse_comparison();
        while (!m_error && accept("&&")) {
            const TemplateValue right = parse_comparison();
            left = truthy(left) && truthy(right);
        }
        return left;
    }

    TemplateValue parse_comparison() {
        TemplateValue left = parse_unary();
        if (m_error) {
            return {};
        }
        // Longest operators first so "<=" is not read as "<".
        static constexpr std::array<std::string_view, 6> k_operators{
            "==", "!=", "<=", ">=", "<", ">"};
        for (std::string_view op : k_operators) {
            if (!accept(op)) {
                continue;
            }
            const TemplateValue right = parse_unary();
            if (m_error) {
                return {};
            }
            if (op == "==" || op == "!=") {
                return values_equal(left, right) == (op == "==");
            }
            const auto a = as_number(left);
            const auto b = as_number(right);
            if (!a || !b) {
                return fail(fmt::format("'{}' compares numbers, not '{}' and '{}'", op,
                                        to_text(left), to_text(right)));
            }
            return op == "<" ? *a < *b : op == "<=" ? *a <= *b : op == ">" ? *a > *b : *a >= *b;
        }
        return left;
    }

    TemplateValue parse_unary() {
        if (accept("!")) {
            const TemplateValue inner = parse_unary();
            return m_error ? TemplateValue() : TemplateValue(!truthy(inner));
        }
        return parse_primary();
    }

    TemplateValue parse_primary() {
        skip_space();
        if (m_pos >= m_text.size()) {
            return fail("expression ends too early");
        }
        const char c = m_text[m_pos];
        if (c == '(') {
            ++m_pos;
            TemplateValue inner = parse_or();
            if (!m_error && !accept(")")) {
                return fail(fmt::format("expected ')' at column {}", m_pos + 1));
            }
            return inner;
        }
        if (c == '"' || c == '\'') {
            return parse_string(c);
        }
        if (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '-') {
            const std::size_t start = m_pos++;
            while (m_pos < m_text.size() &&
                   (std::isdigit(static_cast<unsigned char>(m_text[m_pos])) != 0 ||
                    m_text[m_pos] == '.')) {
                ++m_pos;
            }
            return parse_literal(m_text.substr(start, m_pos - start));
        }
        if (std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_') {
            const std::size_t start = m_pos;
            while (m_pos < m_text.size() &&
                   (std::isalnum(static_cast<unsigned char>(m_text[m_pos])) != 0 ||
                    m_text[m_pos] == '_' || m_text[m_pos] == '.')) {
                ++m_pos;
            }
            const std::string_view name = m_text.substr(start, m_pos - start);
            if (accept("(")) {
                return parse_call(name);
            }
            return name_value(name);
        }
        return fail(fmt::format("unexpected '{}' at column {}", c, m_pos + 1));
    }

    TemplateValue parse_string(char quote) {
        const std::size_t start = m_pos++;
        while (m_pos < m_text.size() && m_text[m_pos] != quote) {
            m_pos += m_text[m_pos] == '\\' ? 2 : 1;
        }
        if (m_pos >= m_text.size()) {
            return fail(fmt::format("string at column {} is not closed", start + 1));
        }
        ++m_pos;
        return *unquote(m_text.substr(start, m_pos - start));
    }

    TemplateValue name_value(std::string_view name) {
        if (name == "true" || name == "false") {
            return name == "true";
        }
        if (name == "undefined") {
            return {};
        }
        if (auto value = m_lookup(name)) {
            return *value;
        }
        return fail(fmt::format("unknown parameter '{}'", name));
    }

    TemplateValue parse_call(std::string_view function) {
        std::vector<TemplateValue> args;
        if (!accept(")")) {
            do {
                args.push_back(parse_or());
            } while (!m_error && accept(","));
            if (m_error) {
                return {};
            }
            if (!accept(")")) {
                return fail(fmt::format("expected ')' after the arguments of {}", function));
            }
        }
        if (function == "ifThenElse") {
            if (args.size() != 3) {
                return fail(fmt::format("ifThenElse takes 3 arguments, not {}", args.size()));
            }
            return truthy(args[0]) ? args[1] : args[2];
        }
        if (function == "StrJoin") {
            if (args.empty()) {
                return fail("StrJoin needs a separator");
            }
            std::string out;
            for (std::size_t i = 1; i < args.size(); ++i) {
                if (i > 1) {
                    out += to_text(args[0]);
                }
                out += to_text(args[i]);
            }
            return out;
        }
        return fail(fmt::format("unknown function '{}' (the emulator knows ifThenElse and StrJoin)",
                                function));
    }

    std::string_view m_text;
    const NameLookup& m_lookup;
    std::size_t m_pos = 0;
    std::optional<Error> m_error;
};

}  // namespace

TemplateValue parse_literal(std::string_view text) {
    text = trim(text);
    if (auto quoted = unquote(text)) {
        return *quoted;
    }
    if (iequals(text, "true") || iequals(text, "false")) {
        return iequals(text, "true");
    }
    const std::string_view digits = !text.empty() && text.front() == '-' ? text.substr(1) : text;
    if (all_digits(digits)) {
        std::int64_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc() && end == text.data() + text.size()) {
            return value;
        }
    }
    const auto dot = digits.find('.');
    if (dot != std::string_view::npos && all_digits(digits.substr(0, dot)) &&
        all_digits(digits.substr(dot + 1))) {
        double value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc() && end == text.data() + text.size()) {
            return value;
        }
    }
    return std::string(text);
}

std::string to_text(const TemplateValue& value) {
    struct Visitor {
        std::string operator()(std::monostate) const { return ""; }
        std::string operator()(bool b) const { return b ? "true" : "false"; }
        std::string operator()(std::int64_t i) const { return std::to_string(i); }
        std::string operator()(double d) const { return fmt::format("{}", d); }
        std::string operator()(const std::string& s) const { return s; }
    };
    return std::visit(Visitor{}, value);
}

bool is_undefined(const TemplateValue& value) {
    return std::holds_alternative<std::monostate>(value);
}

Result<TemplateValue> evaluate_expression(std::string_view expression, const NameLookup& lookup) {
    return Evaluator(expression, lookup).run();
}

}  // namespace cb::emulator
