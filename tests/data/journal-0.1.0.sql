-- A journal as cloudburst 0.1.0 wrote it: these tables, no PRAGMA user_version, and one
-- node's history. The journal schema tests (unit) and the package upgrade test (system)
-- open it with the current programs.
PRAGMA journal_mode = WAL;
CREATE TABLE requests (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
  hostlist TEXT NOT NULL, resume_file TEXT NOT NULL, received_ms INTEGER NOT NULL,
  hook_pid INTEGER NOT NULL, recorded_ms INTEGER NOT NULL);
CREATE TABLE intents (name TEXT PRIMARY KEY, nodearray TEXT NOT NULL, desired TEXT NOT NULL,
  phase TEXT NOT NULL, since_ms INTEGER NOT NULL, deadline_ms INTEGER NOT NULL,
  operation_id TEXT NOT NULL, private_ip TEXT NOT NULL, last_reason TEXT NOT NULL,
  attempts INTEGER NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL,
  node TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX events_by_node ON events(node, id);
CREATE TABLE refused_requests (id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL,
  file TEXT NOT NULL, kind TEXT NOT NULL, hostlist TEXT NOT NULL, message TEXT NOT NULL,
  nodes INTEGER NOT NULL);
INSERT INTO intents VALUES ('hpc-3', 'hpc', 'powered-up', 'running', 1000, 0, 'op-1',
  '198.18.0.7', 'VM ready', 1);
INSERT INTO events (at_ms, node, kind, message) VALUES (1000, 'hpc-3', 'transition', 'up');
