#include "fwd/ctl_context.h"

namespace fw::fwd::ctl {

const config::ServiceSet* Working::service(const std::string& n) {
  // The predefined list is short and fixed: a scan costs the same whatever the configuration.
  for (const auto& s : config::predefined_services()) {
    if (s.name == n) return &s;
  }
  return service_set(n);
}

void Ctx::param_error(std::string_view name, std::string msg) {
  bad_param = m.token(name);
  err = std::move(msg);
}

void HandlerTable::add(std::initializer_list<std::pair<const char*, Handler>> list) {
  for (const auto& [id, h] : list) {
    if (!handlers_.emplace(id, h).second) duplicates_.push_back(id);
  }
}

const Handler* HandlerTable::find(const std::string& id) const {
  auto it = handlers_.find(id);
  return it == handlers_.end() ? nullptr : &it->second;
}

std::string rule_state(bool enabled) { return enabled ? "enable" : "disable"; }

}  // namespace fw::fwd::ctl
