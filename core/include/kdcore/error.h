#pragma once

#include <stdexcept>
#include <string>

namespace kd {

// Every failure kdcore reports to a user: the message is one line that names the file/field and the problem.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace kd
