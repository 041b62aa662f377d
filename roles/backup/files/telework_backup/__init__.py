"""telework-backup: the backup wrapper the backup role installs on every client (A9).

It reads what each role declares in /etc/telework/backup-sources.d/*.yml, runs the declared
dumps, writes MANIFEST.json (sha256 and size of every file the archive must hold), runs
borgmatic (create, prune, and its consistency checks when due) and writes status.json, the
result of the last run that the audit (BCK-01..03) and `toolkit backup status` read.
Formats: docs/backup.md."""
