// The API's own request and response types, free of Beast, so that route
// handlers compile without the HTTP machinery (which lives in server.cpp).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace errand::api {

struct Request {
  std::string method;                        // "GET", "POST", ...
  std::string path;                          // decoded path, no query
  std::map<std::string, std::string> query;  // decoded query parameters (last wins)
  std::string body;
  std::string authorization;  // the Authorization header, verbatim
  std::string remote_address;
  bool loopback = false;  // the client connected from a loopback address
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace errand::api
