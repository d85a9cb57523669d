"""Backups: taking them, storing them locally and in S3, finding, verifying, pruning and restoring them.

Layers, each importing only the ones before it: `format` (names, ids, manifest, digest, the backup
directory) -> `store` (a listed backup, the store interface, the local directory) -> `s3` (the S3
store) -> `locate` (which stores, everything they hold, what a reference names) -> `take`, `restore`,
`retention` (which backups a prune deletes, a pure function) and `prune` (planning and running it).
The CLI, the studio and the flows call these and only parse, prompt and print.
"""
