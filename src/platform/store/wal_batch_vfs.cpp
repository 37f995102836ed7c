#include "platform/store/wal_batch_vfs.hpp"

#include <atomic>
#include <cstddef>
#include <cstring>
#include <new>
#include <vector>

#include <sqlite3.h>

namespace shopctl::platform {

namespace {

// How SQLite's WAL code writes a frame (wal.c, walWriteOneFrame, the same since 3.7.0): its
// 24-byte header, then its page, in two xWrite calls one after the other. Bytes 4-7 of the
// header, big-endian, are the database's size in pages for the last frame of a commit and 0 for
// every other frame. The file starts with a 32-byte header, written again when SQLite restarts
// the log from its beginning.
constexpr int kFrameHeader = 24;
constexpr int kWalHeader = 32;
// The most one write may carry: the default VFS's unixWrite writes `amount & 0x1ffff` bytes per
// pwrite (os_unix.c, seekAndWriteFd), so a write of 128 KiB or more would be cut short and
// reported as a full disk. About 29 frames of 4 KiB pages, more than the shop's commits have; a
// larger transaction is written in pieces of up to this size.
constexpr std::size_t kMaxBuffer = std::size_t{120} << 10;

std::atomic<std::uint64_t> frame_writes{0};
std::atomic<std::uint64_t> file_writes{0};

sqlite3_vfs* base_vfs = nullptr;
sqlite3_vfs batch_vfs{};

// What the buffer holds last: where the next write of a frame must come.
enum class Expect { anything, header, page };

struct WalState {
  std::vector<char> bytes;
  sqlite3_int64 start = 0;  // file offset of bytes[0]
  Expect next = Expect::anything;
  bool commit_frame = false;  // the buffered header is a commit frame's
};

struct File {
  sqlite3_file base;
  sqlite3_file* real;  // the default VFS's file, placed right after this struct
  WalState* wal;       // nullptr: not a WAL file, every call passes through
};

constexpr std::size_t real_offset() {
  return (sizeof(File) + alignof(std::max_align_t) - 1) / alignof(std::max_align_t) *
         alignof(std::max_align_t);
}

File* as_file(sqlite3_file* f) {
  return reinterpret_cast<File*>(f);
}
sqlite3_file* real_of(sqlite3_file* f) {
  return as_file(f)->real;
}

std::uint32_t big_endian_32(const void* p) {
  const auto* b = static_cast<const unsigned char*>(p);
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

int write_through(sqlite3_file* real, const void* data, int amount, sqlite3_int64 offset) {
  file_writes.fetch_add(1, std::memory_order_relaxed);
  return real->pMethods->xWrite(real, data, amount, offset);
}

// Writes what is buffered, in one write. The buffer is empty afterwards whatever the result.
int flush(File* file) {
  WalState& s = *file->wal;
  s.next = Expect::anything;
  s.commit_frame = false;
  if (s.bytes.empty()) return SQLITE_OK;
  const int rc =
      write_through(file->real, s.bytes.data(), static_cast<int>(s.bytes.size()), s.start);
  s.bytes.clear();  // its capacity stays, at most about twice kMaxBuffer
  return rc;
}

int wal_write(File* file, const void* data, int amount, sqlite3_int64 offset) {
  frame_writes.fetch_add(1, std::memory_order_relaxed);
  WalState& s = *file->wal;
  const sqlite3_int64 end = s.start + static_cast<sqlite3_int64>(s.bytes.size());
  // Is it the piece of a frame that the buffer expects, right after it?
  bool fits;
  if (s.bytes.empty())
    fits = amount == kFrameHeader || (amount == kWalHeader && offset == 0);
  else if (offset != end || s.bytes.size() + static_cast<std::size_t>(amount) > kMaxBuffer)
    fits = false;
  else if (s.next == Expect::page)
    fits = amount > kFrameHeader;
  else
    fits = amount == kFrameHeader;
  if (!fits) {
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
    // Not the shape this file knows: written at once, in SQLite's order.
    if (amount != kFrameHeader && !(amount == kWalHeader && offset == 0))
      return write_through(file->real, data, amount, offset);
  }
  if (s.bytes.empty()) s.start = offset;
  const auto* bytes = static_cast<const char*>(data);
  s.bytes.insert(s.bytes.end(), bytes, bytes + amount);
  if (amount == kFrameHeader) {
    s.next = Expect::page;
    s.commit_frame = big_endian_32(bytes + 4) != 0;
    return SQLITE_OK;
  }
  if (amount == kWalHeader && s.next != Expect::page) {
    s.next = Expect::header;
    return SQLITE_OK;
  }
  // A page: its frame is whole. A commit's frames go to the file now, before SQLite syncs them
  // or tells other connections about them.
  if (s.commit_frame) return flush(file);
  s.next = Expect::header;
  return SQLITE_OK;
}

// The methods: WAL files buffer their frames; everything else is the default VFS's.
int x_close(sqlite3_file* f) {
  File* file = as_file(f);
  int rc = SQLITE_OK;
  if (file->wal) {
    rc = flush(file);
    delete file->wal;
    file->wal = nullptr;
  }
  const int closed = file->real->pMethods ? file->real->pMethods->xClose(file->real) : SQLITE_OK;
  return rc != SQLITE_OK ? rc : closed;
}
int x_read(sqlite3_file* f, void* data, int amount, sqlite3_int64 offset) {
  if (File* file = as_file(f); file->wal)
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xRead(real_of(f), data, amount, offset);
}
int x_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  if (File* file = as_file(f); file->wal) return wal_write(file, data, amount, offset);
  return real_of(f)->pMethods->xWrite(real_of(f), data, amount, offset);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (File* file = as_file(f); file->wal)
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xTruncate(real_of(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
  if (File* file = as_file(f); file->wal)
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xSync(real_of(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  if (File* file = as_file(f); file->wal)
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xFileSize(real_of(f), size);
}
int x_lock(sqlite3_file* f, int level) {
  return real_of(f)->pMethods->xLock(real_of(f), level);
}
int x_unlock(sqlite3_file* f, int level) {
  return real_of(f)->pMethods->xUnlock(real_of(f), level);
}
int x_check_reserved_lock(sqlite3_file* f, int* out) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  if (File* file = as_file(f); file->wal)
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
int x_sector_size(sqlite3_file* f) {
  return real_of(f)->pMethods->xSectorSize(real_of(f));
}
int x_device_characteristics(sqlite3_file* f) {
  return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  const auto* m = real_of(f)->pMethods;
  if (m->iVersion < 2 || !m->xShmMap) return SQLITE_IOERR_SHMMAP;
  return m->xShmMap(real_of(f), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  const auto* m = real_of(f)->pMethods;
  if (m->iVersion < 2 || !m->xShmLock) return SQLITE_IOERR_SHMLOCK;
  return m->xShmLock(real_of(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
  const auto* m = real_of(f)->pMethods;
  if (m->iVersion >= 2 && m->xShmBarrier) m->xShmBarrier(real_of(f));
}
int x_shm_unmap(sqlite3_file* f, int delete_flag) {
  const auto* m = real_of(f)->pMethods;
  if (m->iVersion < 2 || !m->xShmUnmap) return SQLITE_OK;
  return m->xShmUnmap(real_of(f), delete_flag);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  const auto* m = real_of(f)->pMethods;
  if (m->iVersion < 3 || !m->xFetch) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return m->xFetch(real_of(f), offset, amount, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  const auto* m = real_of(f)->pMethods;
  if (m->iVersion < 3 || !m->xUnfetch) return SQLITE_OK;
  return m->xUnfetch(real_of(f), offset, p);
}

const sqlite3_io_methods io_methods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  File* file = as_file(f);
  file->base.pMethods = nullptr;
  file->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + real_offset());
  file->wal = nullptr;
  const int rc = base_vfs->xOpen(base_vfs, name, file->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // SQLite calls xClose only when pMethods is set; the default VFS may have set its own.
    if (file->real->pMethods) file->real->pMethods->xClose(file->real);
    return rc;
  }
  if (flags & SQLITE_OPEN_WAL) {
    file->wal = new (std::nothrow) WalState();
    if (!file->wal) {
      file->real->pMethods->xClose(file->real);
      return SQLITE_NOMEM;
    }
  }
  file->base.pMethods = &io_methods;
  return SQLITE_OK;
}

// The rest of the VFS is the default one's.
int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return base_vfs->xDelete(base_vfs, name, sync_dir);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return base_vfs->xAccess(base_vfs, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return base_vfs->xFullPathname(base_vfs, name, size, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) {
  return base_vfs->xDlOpen(base_vfs, name);
}
void x_dl_error(sqlite3_vfs*, int size, char* out) {
  base_vfs->xDlError(base_vfs, size, out);
}
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return base_vfs->xDlSym(base_vfs, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) {
  base_vfs->xDlClose(base_vfs, handle);
}
int x_randomness(sqlite3_vfs*, int size, char* out) {
  return base_vfs->xRandomness(base_vfs, size, out);
}
int x_sleep(sqlite3_vfs*, int micros) {
  return base_vfs->xSleep(base_vfs, micros);
}
int x_current_time(sqlite3_vfs*, double* out) {
  return base_vfs->xCurrentTime(base_vfs, out);
}
int x_get_last_error(sqlite3_vfs*, int size, char* out) {
  return base_vfs->xGetLastError ? base_vfs->xGetLastError(base_vfs, size, out) : 0;
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

const char* register_vfs() {
  base_vfs = sqlite3_vfs_find(nullptr);
  // The time functions of version 2 are used above; the default unix VFS is version 3.
  if (!base_vfs || base_vfs->iVersion < 2 || !base_vfs->xCurrentTimeInt64) return nullptr;
  batch_vfs.iVersion = 2;
  batch_vfs.szOsFile = static_cast<int>(real_offset()) + base_vfs->szOsFile;
  batch_vfs.mxPathname = base_vfs->mxPathname;
  batch_vfs.zName = "shopctl-wal-batch";
  batch_vfs.xOpen = x_open;
  batch_vfs.xDelete = x_delete;
  batch_vfs.xAccess = x_access;
  batch_vfs.xFullPathname = x_full_pathname;
  batch_vfs.xDlOpen = x_dl_open;
  batch_vfs.xDlError = x_dl_error;
  batch_vfs.xDlSym = x_dl_sym;
  batch_vfs.xDlClose = x_dl_close;
  batch_vfs.xRandomness = x_randomness;
  batch_vfs.xSleep = x_sleep;
  batch_vfs.xCurrentTime = x_current_time;
  batch_vfs.xGetLastError = x_get_last_error;
  batch_vfs.xCurrentTimeInt64 = x_current_time_int64;
  if (sqlite3_vfs_register(&batch_vfs, 0) != SQLITE_OK) return nullptr;
  return batch_vfs.zName;
}

}  // namespace

const char* wal_batch_vfs() {
  static const char* const name = register_vfs();
  // A program (or a test) that made another VFS the default since gets that one, unwrapped.
  if (name && sqlite3_vfs_find(nullptr) != base_vfs) return nullptr;
  return name;
}

WalBatchCounts wal_batch_counts() {
  return {frame_writes.load(std::memory_order_relaxed),
          file_writes.load(std::memory_order_relaxed)};
}

}  // namespace shopctl::platform
