"""Fixtures shared by the datasource tests: one Git file and what the
orchestrator writes for it (interop §7.7: flat dotted keys, string values)."""

APP_YAML = """max_connections: 50
log_level: info
database:
  host: db.internal
  pool_size: 10
  password: hunter2
features:
  - alpha
  - beta
"""

FLAT = {
    "database.host": "db.internal",
    "database.password": "hunter2",
    "database.pool_size": "10",
    "features.0": "alpha",
    "features.1": "beta",
    "log_level": "info",
    "max_connections": "50",
}
