#include "pci_bus_id.h"

#include <cstdio>

std::string NormalizePciBusId(const std::string& busId) {
  unsigned int domain = 0, bus = 0, device = 0, function = 0;
  if (std::sscanf(busId.c_str(), "%x:%x:%x.%x", &domain, &bus, &device, &function) != 4) {
    std::string lower = busId;
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return lower;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04x:%02x:%02x.%x", domain, bus, device, function);
  return buffer;
}

std::string WidePciBusId(const std::string& busId) {
  unsigned int domain = 0, bus = 0, device = 0, function = 0;
  if (std::sscanf(busId.c_str(), "%x:%x:%x.%x", &domain, &bus, &device, &function) != 4) return "";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%08x:%02x:%02x.%x", domain, bus, device, function);
  return buffer;
}
