package db

import (
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// PoolStats returns the statistics of the Store's connection pools by
// name: "write" (on SQLite, a single connection) and "read".
func (s *Store) PoolStats() map[string]sql.DBStats {
	return map[string]sql.DBStats{"write": s.db.Stats(), "read": s.rdb.Stats()}
}

// PoolCollectors returns Prometheus collectors of the Store's connection
// pools' statistics, client_golang's go_sql_* metrics (see
// collectors.NewDBStatsCollector), labelled db_name="write" and
// db_name="read" as PoolStats names them. They read the pools' statistics
// only; the pools themselves stay inside this package.
func (s *Store) PoolCollectors() []prometheus.Collector {
	return []prometheus.Collector{
		collectors.NewDBStatsCollector(s.db, "write"),
		collectors.NewDBStatsCollector(s.rdb, "read"),
	}
}

// CommitStats returns how many group commits the Store has made and how
// many writes they committed (their ratio is the mean batch size); ok is
// false on PostgreSQL, which commits each write on its own.
func (s *Store) CommitStats() (commits, writes int64, ok bool) {
	if s.commits == nil {
		return 0, 0, false
	}
	return s.commits.commits.Load(), s.commits.writes.Load(), true
}
