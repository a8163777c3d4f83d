#include "api/api_error.hpp"

namespace troupe::api {

nlohmann::json api_error::to_json() const {
  nlohmann::json e{{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) e["param"] = param;
  if (!code.empty()) e["code"] = code;
  return nlohmann::json{{"error", std::move(e)}};
}

api_error bad_request(std::string param, std::string message) {
  return api_error{.http_status = 400, .message = std::move(message), .param = std::move(param)};
}

api_error unsupported(std::string param, std::string message) {
  return api_error{.http_status = 400, .message = std::move(message), .param = std::move(param), .code = "unsupported"};
}

api_error from_error(const error& err, std::string param) {
  api_error out{.message = err.message, .param = std::move(param)};
  switch (err.code) {
    case errc::not_found:
      out.http_status = 404;
      out.code = "not_found";
      break;
    case errc::invalid_argument:
    case errc::parse_error:
      out.http_status = 400;
      break;
    case errc::unsupported:
      out.http_status = 400;
      out.code = "unsupported";
      break;
    case errc::resource_exhausted:
      out.http_status = 429;
      out.type = "rate_limit_exceeded";
      out.code = "resource_exhausted";
      break;
    case errc::unavailable:
    case errc::timeout:
      out.http_status = 503;
      out.type = "service_unavailable";
      out.code = std::string(errc_name(err.code));
      break;
    default:
      out.http_status = 500;
      out.type = "internal_error";
      out.code = std::string(errc_name(err.code));
      break;
  }
  return out;
}

}  // namespace troupe::api
