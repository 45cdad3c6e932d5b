#include "adapters/cyclecloud_node_list.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "adapters/cyclecloud_rest.h"

namespace cb {

namespace {

using json = nlohmann::json;

// SAX handler. Depth 0 is outside the document, 1 inside the top object, 2 inside the
// "nodes" array, 3 inside one node record; deeper values are skipped.
class NodeListReader {
  public:
    std::vector<CloudNode> nodes;
    std::optional<Error> record_error;  // the first bad record; parsing goes on
    bool top_is_object = false;
    bool has_node_list = false;

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
        const std::string& k = m_field;
        if (k == "Name") {
            n.name = std::move(text);
        } else if (k == "NodeId") {
            n.node_id = std::move(text);
        } else if (k == "Template") {
            n.nodearray = std::move(text);
        } else if (k == "MachineType") {
            n.machine_type = std::move(text);
        } else if (k == "Status") {
            n.status_text = std::move(text);
        } else if (k == "TargetState") {
            n.target_state = std::move(text);
        } else if (k == "PrivateIp") {
            n.private_ip = std::move(text);
        } else if (k == "Hostname") {
            n.hostname = std::move(text);
        } else if (k == "InstanceId") {
            n.instance_id = std::move(text);
        } else if (k == "StatusMessage") {
            n.status_message = std::move(text);
        } else if (k == "KeepAlive") {
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

Result<std::vector<CloudNode>> parse_node_list_streaming(std::string_view body) {
    NodeListReader reader;
    const bool parsed = json::sax_parse(body.begin(), body.end(), &reader,
                                        json::input_format_t::json, /*strict=*/true);
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

}  // namespace cb
