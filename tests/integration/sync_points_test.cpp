// Which writes of the checkout journey wait for a WAL sync (docs/money.md, "What an
// acknowledgement promises"): a whole shop with the default storage (`full` on the money
// databases), driven over real HTTP, with a SQLite VFS that passes every call through to the
// default one and counts the syncs of each WAL file.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "../support/test_shop.hpp"
#include "platform/http/blocking_client.hpp"
#include "shop/shop.hpp"

namespace {

using nlohmann::json;

// A VFS over the default one that counts xSync per file name. Registered as the default while a
// test holds it, so every database the shop opens in that time goes through it.
class SyncCounter {
 public:
  SyncCounter() {
    base_ = sqlite3_vfs_find(nullptr);
    REQUIRE(base_ != nullptr);
    vfs_ = *base_;
    vfs_.zName = "shopctl-sync-counter";
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + base_->szOsFile;
    vfs_.pAppData = this;
    vfs_.xOpen = &SyncCounter::open;
    REQUIRE(sqlite3_vfs_register(&vfs_, 1) == SQLITE_OK);
  }
  ~SyncCounter() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(base_, 1);
  }
  SyncCounter(const SyncCounter&) = delete;
  SyncCounter& operator=(const SyncCounter&) = delete;

  // Syncs so far of the file whose name ends with `suffix` ("order.db-wal").
  int syncs(const std::string& suffix) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& [name, count] : counts_)
      if (name.size() >= suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        n += count;
    return n;
  }

 private:
  // The counting file: our io methods, then the default VFS's file right after it.
  struct File {
    sqlite3_file base;  // first: SQLite sees a sqlite3_file
    SyncCounter* owner;
    std::string* name;
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };

  static File* as(sqlite3_file* f) { return reinterpret_cast<File*>(f); }

  static int open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags,
                  int* out_flags) {
    auto* self = static_cast<SyncCounter*>(vfs->pAppData);
    File* f = as(file);
    std::memset(f, 0, sizeof(File));
    const int rc = self->base_->xOpen(self->base_, name, f->real(), flags, out_flags);
    if (rc != SQLITE_OK || f->real()->pMethods == nullptr) return rc;
    f->owner = self;
    f->name = new std::string(name ? name : "");
    // One table of io methods per real table (SQLite's unix VFS has a few), built on first use.
    std::lock_guard lock(self->mu_);
    auto [it, added] = self->methods_.try_emplace(f->real()->pMethods);
    if (added) {
      it->second = *f->real()->pMethods;
      it->second.xClose = &SyncCounter::close;
      it->second.xSync = &SyncCounter::sync;
      // Everything else goes straight to the real file.
#define SHOPCTL_PASS(member, ...)                                   \
  it->second.member = [](sqlite3_file* x, auto... args) {           \
    return as(x)->real()->pMethods->member(as(x)->real(), args...); \
  }
      SHOPCTL_PASS(xRead);
      SHOPCTL_PASS(xWrite);
      SHOPCTL_PASS(xTruncate);
      SHOPCTL_PASS(xFileSize);
      SHOPCTL_PASS(xLock);
      SHOPCTL_PASS(xUnlock);
      SHOPCTL_PASS(xCheckReservedLock);
      SHOPCTL_PASS(xFileControl);
      SHOPCTL_PASS(xSectorSize);
      SHOPCTL_PASS(xDeviceCharacteristics);
      if (it->second.iVersion >= 2) {
        SHOPCTL_PASS(xShmMap);
        SHOPCTL_PASS(xShmLock);
        SHOPCTL_PASS(xShmBarrier);
        SHOPCTL_PASS(xShmUnmap);
      }
      if (it->second.iVersion >= 3) {
        SHOPCTL_PASS(xFetch);
        SHOPCTL_PASS(xUnfetch);
      }
#undef SHOPCTL_PASS
    }
    f->base.pMethods = &it->second;
    return rc;
  }

  static int close(sqlite3_file* file) {
    File* f = as(file);
    const int rc = f->real()->pMethods->xClose(f->real());
    delete f->name;
    f->name = nullptr;
    return rc;
  }

  static int sync(sqlite3_file* file, int flags) {
    File* f = as(file);
    {
      std::lock_guard lock(f->owner->mu_);
      ++f->owner->counts_[*f->name];
    }
    return f->real()->pMethods->xSync(f->real(), flags);
  }

  sqlite3_vfs* base_ = nullptr;
  sqlite3_vfs vfs_{};
  std::mutex mu_;
  std::map<const sqlite3_io_methods*, sqlite3_io_methods> methods_;
  std::map<std::string, int> counts_;
};

}  // namespace

TEST_CASE(
    "a cart change and the pending order commit without a WAL sync; what a 2xx stands on "
    "is synced") {
  SyncCounter counter;
  auto shop = shopctl::test_support::start_shop();
  shopctl::http::BlockingClient client;
  const std::string token = shopctl::test_support::demo_token(client, *shop);
  const shopctl::test_support::HeaderList auth = {{"Authorization", "Bearer " + token}};
  const std::string gateway = shop->url("gateway");
  auto send = [&](const std::string& method, const std::string& url,
                  const std::optional<json>& body = {},
                  shopctl::test_support::HeaderList headers = {}) {
    return shopctl::test_support::send(client, method, url, body, headers);
  };
  const std::string order_wal = "order.db-wal";

  // Cart changes: answered 200/201, not money, so no sync (a power cut may lose the latest).
  int before = counter.syncs(order_wal);
  REQUIRE(send("POST", gateway + "/api/cart/items", json{{"product_id", "p-001"}, {"quantity", 2}},
               auth)
              .status == 200);
  REQUIRE(send("POST", gateway + "/api/cart/items", json{{"product_id", "p-002"}, {"quantity", 1}},
               auth)
              .status == 200);
  REQUIRE(send("PATCH", gateway + "/api/cart/items/p-001", json{{"quantity", 3}}, auth).status ==
          200);
  REQUIRE(send("DELETE", gateway + "/api/cart/items/p-002", std::nullopt, auth).status == 200);
  CHECK(counter.syncs(order_wal) == before);

  // Checkout: the key's claim and the pending order are carried by one synced commit, the
  // order's payment details with the key's answer, before the 201.
  before = counter.syncs(order_wal);
  auto headers = auth;
  headers.emplace_back("Idempotency-Key", "sync-points-1");
  auto order = send("POST", gateway + "/api/orders", std::nullopt, headers);
  REQUIRE(order.status == 201);
  CHECK(counter.syncs(order_wal) == before + 1);
  // The payment's row is deferred; the intent it was given is synced (payment and provider).
  CHECK(counter.syncs("payment.db-wal") >= 1);
  CHECK(counter.syncs("provider.db-wal") >= 1);

  // Paying: the PAID status is synced before the provider's page answers.
  before = counter.syncs(order_wal);
  const int payment_before = counter.syncs("payment.db-wal");
  auto paid = send("POST", order.body["payment"]["pay_url"].get<std::string>(),
                   json{{"card_number", "4242424242424242"}});
  REQUIRE(paid.status == 200);
  REQUIRE(paid.body["webhook_delivered"] == true);
  CHECK(counter.syncs(order_wal) == before + 1);
  CHECK(counter.syncs("payment.db-wal") >= payment_before + 1);
  auto after = send("GET", gateway + "/api/orders/" + order.body["order_id"].get<std::string>(),
                    std::nullopt, auth);
  CHECK(after.body["status"] == "PAID");
}
