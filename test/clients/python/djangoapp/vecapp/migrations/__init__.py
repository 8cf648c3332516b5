# Migrations of the vecapp test app: 0001 creates the extension, the table and its HNSW indexes.
