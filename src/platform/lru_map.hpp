#pragma once
// A map with a fixed capacity that forgets its least recently used entry to make room, so a
// table keyed by client input (emails, tokens) stays bounded without a wholesale reset: a flood
// of new keys pushes out the keys nobody has touched for longest, never the busy ones.
// Not thread-safe; the owner locks. find(), touch() and erase() are O(1) and allocate only for
// a new key.
#include <cstddef>
#include <list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace shopctl::platform {

template <class Value>
class LruMap {
 public:
  // Throws std::invalid_argument for a capacity of 0.
  explicit LruMap(std::size_t capacity) : capacity_(capacity) {
    if (capacity_ == 0) throw std::invalid_argument("LruMap: capacity must be at least 1");
    index_.reserve(std::min<std::size_t>(capacity_, 1024));
  }
  LruMap(const LruMap&) = delete;
  LruMap& operator=(const LruMap&) = delete;

  // Returns the value of `key` and marks it most recently used, or nullptr.
  Value* find(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }
  // Returns the value of `key`, default-constructed when new, and marks it most recently used.
  // A new key in a full map first evicts the least recently used entry.
  Value& touch(std::string_view key) {
    if (Value* found = find(key)) return *found;
    if (order_.size() >= capacity_) {
      index_.erase(std::string_view(order_.back().first));
      order_.pop_back();
    }
    order_.emplace_front(std::string(key), Value{});
    index_.emplace(std::string_view(order_.front().first), order_.begin());
    return order_.front().second;
  }
  // Removes `key`; returns whether it was there.
  bool erase(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    auto entry = it->second;
    index_.erase(it);
    order_.erase(entry);
    return true;
  }
  // Erases every entry for which pred(key, value) is true; returns how many.
  template <class Pred>
  std::size_t erase_if(Pred pred) {
    std::size_t erased = 0;
    for (auto it = order_.begin(); it != order_.end();) {
      if (pred(std::string_view(it->first), it->second)) {
        index_.erase(std::string_view(it->first));
        it = order_.erase(it);
        ++erased;
      } else {
        ++it;
      }
    }
    return erased;
  }
  std::size_t size() const { return order_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  using Entry = std::pair<std::string, Value>;
  std::size_t capacity_;
  std::list<Entry> order_;  // most recently used first; nodes never move, so keys stay put
  std::unordered_map<std::string_view, typename std::list<Entry>::iterator> index_;
};

}  // namespace shopctl::platform
