# Writes a C++ source holding files as byte arrays: the dashboard's assets,
# compiled into the binary. Run at build time:
#   cmake -DOUTPUT=out.cpp -DASSETS="name=path|name=path" -P embed_assets.cmake
# Each asset becomes {name, bytes, etag}; api/assets.cpp serves them.
string(REPLACE "|" ";" ASSETS "${ASSETS}")
set(body "")
set(table "")
set(index 0)
foreach(entry IN LISTS ASSETS)
  string(FIND "${entry}" "=" eq)
  string(SUBSTRING "${entry}" 0 ${eq} name)
  math(EXPR from "${eq} + 1")
  string(SUBSTRING "${entry}" ${from} -1 path)
  file(READ "${path}" hex HEX)
  file(SHA256 "${path}" digest)
  string(SUBSTRING "${digest}" 0 16 etag)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND body "const char kAsset${index}[${size} + 1] = {${bytes}0};\n")
  string(APPEND table "    {\"${name}\", std::string_view(kAsset${index}, ${size}), \"\\\"${etag}\\\"\"},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated at build time by cmake/embed_assets.cmake: do not edit.
#include \"api/embedded.hpp\"

namespace errand::api {
namespace {
${body}}  // namespace

std::span<const EmbeddedAsset> dashboard_assets() {
  static const EmbeddedAsset assets[] = {
${table}  };
  return assets;
}

}  // namespace errand::api
")
# Touch the output only when it changed, so an unchanged build stays a no-op.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
