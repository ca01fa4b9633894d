#pragma once
// The SQLite-level checks of a configuration database: that it is intact, that it is ours, and
// that every stored field is well formed. Private to db/.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

#include "db/file_check.h"

namespace fw::db {

constexpr int kSchemaVersion = 1;
// PRAGMA application_id of databases created by this version ("FWDC"); files created before it
// was set carry 0, which is accepted too.
constexpr uint32_t kApplicationId = 0x46574443;
// Bounds on stored numbers: far above any real configuration, low enough to refuse nonsense.
constexpr uint64_t kMaxLines = 10'000'000;
constexpr uint64_t kMaxSavedAt = 253402300799;  // 9999-12-31T23:59:59Z

// Creates our schema and the schema-version row in an empty database (run in a transaction).
extern const char* const kCreateSchemaSql;

// FNV-1a of the text as lowercase hex without leading zeros (the format of the `digest` row).
std::string digest_hex(const std::string& text);

// The first read of a connection: a hot journal (SQLITE_READONLY_ROLLBACK on a read-only
// connection), a lock held by another process, or a file SQLite cannot read at all.
Finding probe(sqlite3* db);
// PRAGMA integrity_check, application_id, user_version, a schema version of another fwd, and
// exactly our tables and index.
Finding check_structure(sqlite3* db);
// Reads the metadata and all lines in one read transaction, validating every field, the line
// count and the digest. *text: the saved configuration, nullopt if nothing was ever saved.
Finding read_saved(sqlite3* db, std::optional<std::string>* text);

}  // namespace fw::db
