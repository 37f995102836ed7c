#pragma once

#include <cstdint>

namespace shopctl::platform {

// A SQLite VFS that wraps the default one and hands each commit's WAL frames to the kernel in
// one write, instead of two writes per frame (the 24-byte frame header, then the page) as
// SQLite's WAL code does. docs/performance.md (round twenty-two) says why it is hand-written:
// SQLite has no setting for it.
//
// What it keeps: the bytes, their offsets and their order in the file are those SQLite wrote;
// a commit's frames are in the file before its `xWrite` of the commit frame's page returns, so
// before SQLite syncs the WAL or publishes the commit in the wal-index to other connections
// and processes; an error of the combined write is the error of that `xWrite`, as before.
// Frames of a transaction that spills its cache before it commits wait in a buffer of their
// handle until the commit, until SQLite reads, syncs, sizes or truncates that WAL handle, or
// until a barrier of the wal-index in the same thread; a crash loses them, as it loses an
// uncommitted transaction. Every other file (the database, its -shm, journals) passes through.
//
// The name to open a connection with (sqlite3_open_v2's last argument); registered on the
// first call, thread-safe. nullptr (SQLite's default VFS) when it could not be registered, or
// when another VFS has been made the default since (a program's own, a test's counting one).
const char* wal_batch_vfs();

// What the VFS has done in this process, for tests and benchmarks.
struct WalBatchCounts {
  std::uint64_t frames_writes = 0;  // xWrite calls to WAL files that SQLite made
  std::uint64_t file_writes = 0;    // writes to WAL files that reached the default VFS
};
WalBatchCounts wal_batch_counts();

}  // namespace shopctl::platform
