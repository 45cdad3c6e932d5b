// Values in a CycleCloud cluster template: literals ("true", "100", "Standard_F2s_v2",
// "\"quoted\""), parameter references ($Name) and ${...} expressions, all of which end up as
// one TemplateValue. `undefined` (std::monostate) means "not set": an attribute whose value
// is undefined is dropped, as CycleCloud does.
//
// Expressions: literals, parameter names, == != < <= > >= && || !, parentheses, and the
// functions ifThenElse(cond, a, b) and StrJoin(separator, a, b, ...). That is the subset
// templates/slurm-headless.txt uses; anything else is an error naming what was not understood.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "util/result.h"

namespace cb::emulator {

using TemplateValue = std::variant<std::monostate, bool, std::int64_t, double, std::string>;

// Types a literal: true/false (any case) -> bool, -?digits -> integer, -?digits.digits ->
// double, "..." -> the string without quotes (\" and \\ unescaped), anything else -> string.
TemplateValue parse_literal(std::string_view text);

// Text form: "true"/"false", numbers in shortest form, strings as is, "" for undefined.
std::string to_text(const TemplateValue& value);

bool is_undefined(const TemplateValue& value);

// Looks a name up; nullopt when it is not a parameter (an error in the expression).
using NameLookup = std::function<std::optional<TemplateValue>(std::string_view name)>;

// Evaluates the text between "${" and "}". Errors (k_config) carry only the problem
// ("unknown function 'Foo'"); the caller adds the file and line.
Result<TemplateValue> evaluate_expression(std::string_view expression, const NameLookup& lookup);

}  // namespace cb::emulator
