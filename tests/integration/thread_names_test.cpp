// The shop's threads carry names (`top -H`, `ps -L`, `perf sched`, gdb): the io threads
// "io-N", each database's worker "db-<file>", the load generator's "load-N".
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "../support/test_shop.hpp"
#include "platform/thread_name.hpp"
#include "shop/shop.hpp"

namespace {

std::multiset<std::string> thread_names() {
  std::multiset<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  return names;
}

TEST_CASE("a running shop's threads are named after what they do") {
  auto shop = shopctl::test_support::start_shop();
  auto names = thread_names();
  std::string all;
  for (const auto& n : names) all += n + " ";
  CAPTURE(all);
  CHECK(names.count("io-0") == 1);
  for (const char* db : {"db-auth", "db-catalog", "db-order", "db-payment", "db-provider"})
    CHECK(names.count(db) == 1);
}

TEST_CASE("a thread name longer than Linux keeps is cut, not refused") {
  std::string seen;
  std::thread([&] {
    shopctl::platform::name_this_thread("a-name-much-longer-than-fifteen");
    std::ifstream comm("/proc/thread-self/comm");
    std::getline(comm, seen);
  }).join();
  CHECK(seen == "a-name-much-lon");
}

}  // namespace
