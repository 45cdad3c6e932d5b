#include "adapters/cyclecloud_node_list.h"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "adapters/cyclecloud_rest.h"
#include "util/log.h"

namespace cb {

namespace {

using json = nlohmann::json;

// The field of CloudNode a record's key is read into; nullptr for keys we do not keep.
std::string* field_of(CloudNode& n, std::string_view key) {
    if (key == "Name") {
        return &n.name;
    }
    if (key == "NodeId") {
        return &n.node_id;
    }
    if (key == "Template") {
        return &n.nodearray;
    }
    if (key == "MachineType") {
        return &n.machine_type;
    }
    if (key == "Status") {
        return &n.status_text;
    }
    if (key == "TargetState") {
        return &n.target_state;
    }
    if (key == "PrivateIp") {
        return &n.private_ip;
    }
    if (key == "Hostname") {
        return &n.hostname;
    }
    if (key == "InstanceId") {
        return &n.instance_id;
    }
    if (key == "StatusMessage") {
        return &n.status_message;
    }
    return nullptr;
}

// SAX handler. Depth 0 is outside the document, 1 inside the top object, 2 inside the
// "nodes" array, 3 inside one node record; deeper values are skipped, and nesting deeper than
// k_max_answer_depth stops the parser, as it stops the tree's (parse_node_list).
class NodeListReader {
  public:
    std::vector<CloudNode> nodes;
    std::optional<Error> record_error;  // the first bad record; parsing goes on
    bool top_is_object = false;
    bool has_node_list = false;
    bool too_deep = false;

    bool null() { return scalar(std::string(), false); }
    bool boolean(bool v) { return scalar(v ? "true" : "false", v); }
    bool number_integer(json::number_integer_t v) { return scalar(std::to_string(v), false); }
    bool number_unsigned(json::number_unsigned_t v) { return scalar(std::to_string(v), false); }
    bool number_float(json::number_float_t v, const json::string_t& /*text*/) {
        return scalar(json(v).dump(), false);  // as the tree prints it: 2.50 -> "2.5"
    }
    bool string(json::string_t& v) {
        const bool truthy = v == "true" || v == "True";
        return scalar(std::move(v), truthy);
    }
    bool binary(json::binary_t& /*v*/) { return scalar(std::string(), false); }

    bool key(json::string_t& k) {
        if (m_depth == 1) {
            m_top_key = std::move(k);
        } else if (m_depth == 3 && m_in_record) {
            m_field = std::move(k);
        }
        return true;
    }

    bool start_object(std::size_t /*size*/) {
        if (m_depth == k_max_answer_depth) {
            too_deep = true;
            return false;
        }
        if (m_depth == 0) {
            top_is_object = true;
        } else if (m_depth == 1 && m_top_key == "nodes") {
            has_node_list = false;  // "nodes" is not a list
        } else if (m_depth == 2 && m_in_nodes) {
            nodes.emplace_back();
            m_field.clear();
            m_in_record = true;
        } else if (m_depth == 3 && m_in_record) {
            assign(std::string(), false);  // a nested value of a field we may read
        }
        ++m_depth;
        return true;
    }
    bool end_object() {
        --m_depth;
        if (m_depth == 2 && m_in_record) {
            m_in_record = false;
            CloudNode& n = nodes.back();
            n.status = parse_vm_status(n.status_text);
            if (n.name.empty()) {
                note(malformed("a node record has no Name"));
            }
        }
        return true;
    }
    bool start_array(std::size_t /*size*/) {
        if (m_depth == k_max_answer_depth) {
            too_deep = true;
            return false;
        }
        if (m_depth == 1 && m_top_key == "nodes") {
            nodes.clear();  // the last "nodes" wins, as in a JSON tree
            record_error.reset();
            has_node_list = true;
            m_in_nodes = true;
        } else if (m_depth == 2 && m_in_nodes) {
            note(malformed("a node record is not an object"));
        } else if (m_depth == 3 && m_in_record) {
            assign(std::string(), false);
        }
        ++m_depth;
        return true;
    }
    bool end_array() {
        --m_depth;
        if (m_depth == 1) {
            m_in_nodes = false;
        }
        return true;
    }
    bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                     const nlohmann::detail::exception& /*ex*/) {
        return false;
    }

  private:
    bool scalar(std::string text, bool truthy) {
        if (m_depth == 1 && m_top_key == "nodes") {
            has_node_list = false;
        } else if (m_depth == 2 && m_in_nodes) {
            note(malformed("a node record is not an object"));
        } else if (m_depth == 3 && m_in_record) {
            assign(std::move(text), truthy);
        }
        return true;
    }

    // The value of the current field of the current record.
    void assign(std::string text, bool truthy) {
        CloudNode& n = nodes.back();
        if (std::string* field = field_of(n, m_field)) {
            *field = std::move(text);
        } else if (m_field == "KeepAlive") {
            n.keep_alive = truthy;
        }
    }

    void note(Error e) {
        if (!record_error) {
            record_error = std::move(e);
        }
    }

    int m_depth = 0;
    bool m_in_nodes = false;
    bool m_in_record = false;  // inside an object that is an element of "nodes"
    std::string m_top_key;
    std::string m_field;
};

}  // namespace

Result<std::vector<CloudNode>> parse_node_list_general(std::string_view body) {
    NodeListReader reader;
    const bool parsed = json::sax_parse(body.begin(), body.end(), &reader,
                                        json::input_format_t::json, /*strict=*/true);
    if (reader.too_deep) {
        return nested_too_deep("node list");
    }
    if (!parsed || !reader.top_is_object) {
        return malformed("node list is not a JSON object: '" + excerpt(body) + "'");
    }
    if (!reader.has_node_list) {
        return malformed("node list has no 'nodes' list");
    }
    if (reader.record_error) {
        return *reader.record_error;
    }
    return std::move(reader.nodes);
}

namespace {

// ---- The fast path ----

namespace od = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

constexpr std::size_t k_none = std::string_view::npos;

bool is_space(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

std::size_t skip_space(std::string_view s, std::size_t i) {
    while (i < s.size() && is_space(s[i])) {
        ++i;
    }
    return i;
}

// The index of the quote that closes the string opening at `open`, or k_none: the next quote
// not escaped, that is, after an even number of backslashes.
std::size_t string_end(std::string_view s, std::size_t open) {
    std::size_t i = open + 1;
    for (;;) {
        const void* quote = std::memchr(s.data() + i, '"', s.size() - i);
        if (quote == nullptr) {
            return k_none;
        }
        const auto at = static_cast<std::size_t>(static_cast<const char*>(quote) - s.data());
        std::size_t backslashes = 0;
        while (at - backslashes > open + 1 && s[at - backslashes - 1] == '\\') {
            ++backslashes;
        }
        if (backslashes % 2 == 0) {
            return at;
        }
        i = at + 1;
    }
}

// Where container_end stopped in a '{' or '[' value that had not ended yet: an offset from
// the value's start, outside any string, and how many levels were open there.
struct Resume {
    std::size_t offset = 0;
    std::size_t depth = 0;
};

// The end of the '{' or '[' value at s[i] (one past its closing bracket), scanned on from where
// the last call on the same value stopped (`r`; reset when the value ends), so that a value
// arriving in many small parts is scanned once, not once a part; k_none while it has not ended.
std::size_t container_end(std::string_view s, std::size_t i, Resume& r) {
    std::size_t at = i + r.offset;
    std::size_t depth = r.depth;
    for (; at < s.size(); ++at) {
        switch (s[at]) {
            case '"': {
                const std::size_t close = string_end(s, at);
                if (close == k_none) {
                    r = {at - i, depth};  // the string is read again when more has come
                    return k_none;
                }
                at = close;
                break;
            }
            case '{':
            case '[':
                ++depth;
                break;
            case '}':
            case ']':
                if (--depth == 0) {
                    r = {};
                    return at + 1;
                }
                break;
            default:
                break;
        }
    }
    r = {at - i, depth};
    return k_none;
}

// Just past the value that starts at `i`, or k_none. Only strings and nesting are tracked
// ('{' and '[' alike): what is inside is validated by simdjson afterwards.
std::size_t value_end(std::string_view s, std::size_t i) {
    if (i >= s.size()) {
        return k_none;
    }
    if (s[i] == '"') {
        const std::size_t close = string_end(s, i);
        return close == k_none ? k_none : close + 1;
    }
    if (s[i] != '{' && s[i] != '[') {  // a number or a literal: up to the next delimiter
        while (i < s.size() && !is_space(s[i]) && s[i] != ',' && s[i] != '}' && s[i] != ']') {
            ++i;
        }
        return i;
    }
    Resume from_start;
    return container_end(s, i, from_start);
}

// Where the records are: the span of the "nodes" list and of each element in it.
struct Layout {
    std::size_t list_open = 0;                                 // '['
    std::size_t list_close = 0;                                // ']'
    std::vector<std::pair<std::size_t, std::size_t>> records;  // [begin, end) of each object
};

// The elements of the list that opens at `open`; false if one is not an object or the list
// is not a plain comma-separated sequence.
bool find_records(std::string_view s, std::size_t open, Layout& out) {
    out.list_open = open;
    std::size_t i = skip_space(s, open + 1);
    if (i < s.size() && s[i] == ']') {
        out.list_close = i;
        return true;
    }
    for (;;) {
        if (i >= s.size() || s[i] != '{') {
            return false;
        }
        const std::size_t end = value_end(s, i);
        if (end == k_none) {
            return false;
        }
        out.records.emplace_back(i, end);
        i = skip_space(s, end);
        if (i < s.size() && s[i] == ']') {
            out.list_close = i;
            return true;
        }
        if (i >= s.size() || s[i] != ',') {
            return false;
        }
        i = skip_space(s, i + 1);
    }
}

// The top-level members are walked by their raw text: exactly one key spelled "nodes", whose
// value is a list. (A key escaped into "nodes" is caught when the rest is validated.)
std::optional<Layout> find_layout(std::string_view s) {
    std::size_t i = skip_space(s, 0);
    if (i >= s.size() || s[i] != '{') {
        return std::nullopt;
    }
    std::optional<Layout> found;
    i = skip_space(s, i + 1);
    if (i < s.size() && s[i] == '}') {
        return std::nullopt;
    }
    for (;;) {
        if (i >= s.size() || s[i] != '"') {
            return std::nullopt;
        }
        const std::size_t key_end = value_end(s, i);
        if (key_end == k_none) {
            return std::nullopt;
        }
        const bool is_nodes = s.substr(i, key_end - i) == "\"nodes\"";
        i = skip_space(s, key_end);
        if (i >= s.size() || s[i] != ':') {
            return std::nullopt;
        }
        i = skip_space(s, i + 1);
        if (is_nodes) {
            Layout layout;
            if (found || i >= s.size() || s[i] != '[' || !find_records(s, i, layout)) {
                return std::nullopt;
            }
            found = std::move(layout);
            i = found->list_close + 1;
        } else if (i = value_end(s, i); i == k_none) {
            return std::nullopt;
        }
        i = skip_space(s, i);
        if (i < s.size() && s[i] == '}') {
            // Nothing may follow. (simdjson 3.0 does not check that a document ends after
            // its object; within the list, a record's span ends where its object does.)
            return skip_space(s, i + 1) == s.size() ? std::move(found) : std::nullopt;
        }
        if (i >= s.size() || s[i] != ',') {
            return std::nullopt;
        }
        i = skip_space(s, i + 1);
    }
}

// On demand, simdjson checks only what is read: walk the whole value so that every part of
// it is validated. `depth`: the containers around v in the whole document. It recurses, one
// frame per level, up to k_max_answer_depth: a deeper value is left to the general reader,
// which refuses it (simdjson 3.0's on-demand API does not enforce a depth limit of its own).
error_code check(od::value v, int depth);

error_code check_fields(od::object o, int depth) {
    for (auto field : o) {
        std::string_view key;
        if (error_code e = field.unescaped_key().get(key)) {
            return e;
        }
        if (error_code e = check(field.value(), depth)) {
            return e;
        }
    }
    return SUCCESS;
}

error_code check(od::value v, int depth) {
    od::json_type type{};
    if (error_code e = v.type().get(type)) {
        return e;
    }
    const bool container = type == od::json_type::object || type == od::json_type::array;
    if (container && depth >= k_max_answer_depth) {
        return simdjson::DEPTH_ERROR;
    }
    switch (type) {
        case od::json_type::object: {
            od::object o;
            if (error_code e = v.get_object().get(o)) {
                return e;
            }
            return check_fields(o, depth + 1);
        }
        case od::json_type::array: {
            od::array a;
            if (error_code e = v.get_array().get(a)) {
                return e;
            }
            for (auto element : a) {
                od::value item;
                if (error_code e = element.get(item)) {
                    return e;
                }
                if (error_code e = check(item, depth + 1)) {
                    return e;
                }
            }
            return SUCCESS;
        }
        case od::json_type::string: {
            std::string_view text;
            return v.get_string().get(text);
        }
        case od::json_type::number: {
            od::number n;
            return v.get_number().get(n);
        }
        case od::json_type::boolean: {
            bool b = false;
            return v.get_bool().get(b);
        }
        case od::json_type::null: {
            bool is_null = false;
            if (error_code e = v.is_null().get(is_null)) {
                return e;
            }
            return is_null ? SUCCESS : simdjson::INCORRECT_TYPE;
        }
    }
    return simdjson::INCORRECT_TYPE;
}

// simdjson reads up to SIMDJSON_PADDING bytes past the text: `text` is parsed where it is when
// `readable` bytes from its start may be read, else from a padded copy in `copy`.
simdjson::simdjson_result<od::document> iterate(od::parser& parser, std::string& copy,
                                                std::string_view text, std::size_t readable) {
    if (readable >= text.size() + simdjson::SIMDJSON_PADDING) {
        return parser.iterate(text.data(), text.size(), readable);
    }
    copy.assign(text);
    copy.append(simdjson::SIMDJSON_PADDING, ' ');
    return parser.iterate(copy.data(), text.size(), copy.size());
}

// The document without the list (replaced by []) must be valid JSON, with one member
// "nodes" (that list) once its keys are unescaped.
bool rest_is_valid(od::parser& parser, std::string_view body, const Layout& layout) {
    std::string rest;
    rest.reserve(body.size() - (layout.list_close - layout.list_open) + 1 +
                 simdjson::SIMDJSON_PADDING);
    rest.append(body.substr(0, layout.list_open + 1));
    rest.append(body.substr(layout.list_close));
    rest.append(simdjson::SIMDJSON_PADDING, ' ');
    od::document doc;
    if (parser.iterate(rest.data(), rest.size() - simdjson::SIMDJSON_PADDING, rest.size())
            .get(doc)) {
        return false;
    }
    od::object top;
    if (doc.get_object().get(top)) {
        return false;
    }
    int lists = 0;
    for (auto field : top) {
        std::string_view key;
        if (field.unescaped_key().get(key) || check(field.value(), 1)) {
            return false;
        }
        lists += key == "nodes" ? 1 : 0;
    }
    return lists == 1;
}

// One record (`text`, `readable` bytes readable from its start) into `n`; false if it is not
// valid JSON or has a value we leave to the general reader (a number, object or list where a
// field we read belongs).
bool read_record(od::parser& parser, std::string& copy, std::string_view text, std::size_t readable,
                 CloudNode& n) {
    od::document doc;
    if (iterate(parser, copy, text, readable).get(doc)) {
        return false;
    }
    od::object record;
    if (doc.get_object().get(record)) {
        return false;
    }
    for (auto field : record) {
        std::string_view key;
        od::value value;
        if (field.unescaped_key().get(key) || field.value().get(value)) {
            return false;
        }
        std::string* text_field = field_of(n, key);
        if (text_field == nullptr && key != "KeepAlive") {
            // In the top object, in "nodes", in this record.
            constexpr int k_record_field_depth = 3;
            if (check(value, k_record_field_depth)) {
                return false;
            }
            continue;
        }
        od::json_type type{};
        if (value.type().get(type)) {
            return false;
        }
        std::string_view str;
        bool flag = false;
        bool is_null = false;
        std::string read;
        if (type == od::json_type::string) {
            if (value.get_string().get(str)) {
                return false;
            }
            read.assign(str);
            flag = str == "true" || str == "True";
        } else if (type == od::json_type::boolean) {
            if (value.get_bool().get(flag)) {
                return false;
            }
            read = flag ? "true" : "false";
        } else if (type == od::json_type::null) {
            if (value.is_null().get(is_null) || !is_null) {
                return false;
            }
        } else {
            return false;
        }
        if (text_field != nullptr) {
            *text_field = std::move(read);
        } else {
            n.keep_alive = flag;
        }
    }
    n.status = parse_vm_status(n.status_text);
    return true;
}

class FastReader {
  public:
    explicit FastReader(std::string_view body) : m_body(body) {}

    // nullopt: leave the document to the general reader.
    std::optional<Result<std::vector<CloudNode>>> read() {
        auto layout = find_layout(m_body);
        if (!layout || !rest_is_valid(m_parser, m_body, *layout)) {
            return std::nullopt;
        }
        std::vector<CloudNode> nodes;
        nodes.reserve(layout->records.size());
        std::optional<Error> first_error;
        for (const auto& [begin, end] : layout->records) {
            if (!read_record(m_parser, m_copy, m_body.substr(begin, end - begin),
                             m_body.size() - begin, nodes.emplace_back())) {
                return std::nullopt;
            }
            if (nodes.back().name.empty() && !first_error) {
                first_error = malformed("a node record has no Name");
            }
        }
        if (first_error) {
            return Result<std::vector<CloudNode>>(*first_error);
        }
        return Result<std::vector<CloudNode>>(std::move(nodes));
    }

  private:
    std::string_view m_body;
    od::parser m_parser;
    std::string m_copy;
};

// Where the stream is in the document.
enum class StreamPhase {
    k_top,      // before the "nodes" list: `pending` holds the text from the start
    k_list,     // in the list: `pending` holds the text from the next comma or record
    k_after,    // past the list: `rest` holds the text from its ']'
    k_gave_up,  // left to the general reader
};

enum class Scan { k_more, k_found, k_give_up };

// value_end for a stream: a '{' or '[' value resumes where the last call on it stopped
// (container_end); other values as value_end.
std::size_t value_end_resumed(std::string_view s, std::size_t i, Resume& r) {
    if (i < s.size() && (s[i] == '{' || s[i] == '[')) {
        return container_end(s, i, r);
    }
    return value_end(s, i);
}

// A bound on the room made ahead for records, whatever the document claims its size is.
constexpr std::size_t k_max_reserved = 100000;

}  // namespace

struct NodeListStream::State {
    StreamPhase phase = StreamPhase::k_top;
    std::string pending;
    std::size_t member = 0;   // k_top: where the next top-level member starts (0: none yet)
    bool want_record = true;  // k_list: a record (or, first, the ']') comes next, not a comma
    bool first = true;        // k_list: nothing read yet
    std::string rest;         // the document without the records: up to '[', and from ']'
    std::vector<CloudNode> nodes;
    std::size_t expected_bytes = 0;
    std::optional<Error> first_error;
    od::parser parser;
    std::string copy;
    Resume top_value;  // k_top: the member value being scanned
    Resume record;     // k_list: the record being scanned

    // The top-level members before "nodes", as find_layout walks them: each must be whole
    // before the next is looked at.
    Scan scan_top() {
        const std::string_view s = pending;
        std::size_t i = 0;
        if (member == 0) {
            i = skip_space(s, 0);
            if (i >= s.size()) {
                return Scan::k_more;
            }
            if (s[i] != '{') {
                return Scan::k_give_up;
            }
            i = skip_space(s, i + 1);
            if (i >= s.size()) {
                return Scan::k_more;
            }
            member = i;
        }
        for (;;) {
            i = member;
            if (i >= s.size()) {
                return Scan::k_more;
            }
            if (s[i] != '"') {
                return Scan::k_give_up;  // also '}': a document without "nodes"
            }
            const std::size_t key_end = value_end(s, i);
            if (key_end == k_none) {
                return Scan::k_more;
            }
            const bool is_nodes = s.substr(i, key_end - i) == "\"nodes\"";
            i = skip_space(s, key_end);
            if (i >= s.size()) {
                return Scan::k_more;
            }
            if (s[i] != ':') {
                return Scan::k_give_up;
            }
            i = skip_space(s, i + 1);
            if (i >= s.size()) {
                return Scan::k_more;
            }
            if (is_nodes) {
                if (s[i] != '[') {
                    return Scan::k_give_up;
                }
                rest.assign(s.substr(0, i + 1));
                pending.erase(0, i + 1);
                return Scan::k_found;
            }
            i = value_end_resumed(s, i, top_value);
            if (i == k_none || i >= s.size()) {
                return Scan::k_more;  // a number may go on in the next part
            }
            i = skip_space(s, i);
            if (i >= s.size()) {
                return Scan::k_more;
            }
            if (s[i] != ',') {
                return Scan::k_give_up;  // the end of the document, or not JSON
            }
            i = skip_space(s, i + 1);
            if (i >= s.size()) {
                return Scan::k_more;
            }
            member = i;
        }
    }

    // The records complete in `pending`, as find_records cuts them, each read at once.
    Scan scan_list() {
        const std::string_view s = pending;
        std::size_t i = 0;
        for (;;) {
            i = skip_space(s, i);
            if (i >= s.size()) {
                break;
            }
            if ((!want_record || first) && s[i] == ']') {
                rest.append(s.substr(i));
                pending.clear();
                return Scan::k_found;
            }
            if (!want_record) {
                if (s[i] != ',') {
                    return Scan::k_give_up;
                }
                want_record = true;
                ++i;
                continue;
            }
            if (s[i] != '{') {
                return Scan::k_give_up;
            }
            const std::size_t end = value_end_resumed(s, i, record);
            if (end == k_none) {
                break;
            }
            if (first && expected_bytes > 0) {
                // Records are about the same size: the first says how many will come, give
                // or take a few percent (names and addresses differ in length; 1,421 bytes
                // for the emulator's first of 10,000 averaging 1,390). An eighth more, so
                // that the list is not moved to twice its room for its last few records.
                const std::size_t guess = expected_bytes / (end - i + 1);
                nodes.reserve(std::min(guess + guess / 8 + 16, k_max_reserved));
            }
            if (!read_record(parser, copy, s.substr(i, end - i), s.size() - i,
                             nodes.emplace_back())) {
                return Scan::k_give_up;
            }
            if (nodes.back().name.empty() && !first_error) {
                first_error = malformed("a node record has no Name");
            }
            want_record = false;
            first = false;
            i = end;
        }
        pending.erase(0, i);
        return Scan::k_more;
    }

    void feed(std::string_view part) {
        if (phase == StreamPhase::k_gave_up) {
            return;
        }
        if (phase == StreamPhase::k_after) {
            rest.append(part);
            return;
        }
        pending.append(part);
        Scan scan = Scan::k_more;
        if (phase == StreamPhase::k_top) {
            scan = scan_top();
            if (scan == Scan::k_found) {
                phase = StreamPhase::k_list;
            }
        }
        if (phase == StreamPhase::k_list) {
            scan = scan_list();
            if (scan == Scan::k_found) {
                phase = StreamPhase::k_after;
            }
        }
        // Past the limit, each part would rescan what is pending: leave it to the general
        // reader.
        if (scan == Scan::k_give_up || pending.size() > k_max_pending) {
            give_up();
        }
    }

    void give_up() {
        phase = StreamPhase::k_gave_up;
        std::string().swap(pending);
        std::string().swap(rest);
        std::vector<CloudNode>().swap(nodes);
    }

    std::optional<Result<std::vector<CloudNode>>> finish() {
        if (phase != StreamPhase::k_after) {
            give_up();
            return std::nullopt;  // given up, or the document ended early
        }
        // What is around the list, checked as the fast path checks it: "...[]...".
        const auto layout = find_layout(rest);
        if (!layout || !rest_is_valid(parser, rest, *layout)) {
            give_up();
            return std::nullopt;
        }
        if (first_error) {
            return Result<std::vector<CloudNode>>(*first_error);
        }
        return Result<std::vector<CloudNode>>(std::move(nodes));
    }
};

NodeListStream::NodeListStream() : m_state(std::make_unique<State>()) {}
NodeListStream::~NodeListStream() = default;

void NodeListStream::feed(std::string_view part) {
    m_state->feed(part);
}

std::optional<Result<std::vector<CloudNode>>> NodeListStream::finish() {
    return m_state->finish();
}

void NodeListStream::expect_bytes(std::size_t bytes) {
    m_state->expected_bytes = bytes;
}

void NodeListStream::restart() {
    m_state = std::make_unique<State>();
}

std::optional<Result<std::vector<CloudNode>>> parse_node_list_fast(std::string_view body) {
    return FastReader(body).read();
}

Result<std::vector<CloudNode>> parse_node_list_streaming(std::string_view body) {
    if (auto fast = parse_node_list_fast(body)) {
        return std::move(*fast);
    }
    auto general = parse_node_list_general(body);
    // A list the general reader takes but the fast path does not will come every pass, at
    // several times the cost: say so once.
    static std::atomic<bool> said{false};
    if (general && !said.exchange(true)) {
        log::info(
            "cyclecloud: the node list has a value the fast reader leaves to the general one "
            "(a number, object or list in a field such as NodeId); each sync pass takes "
            "longer");
    }
    return general;
}

}  // namespace cb
