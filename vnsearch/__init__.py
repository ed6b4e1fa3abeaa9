"""The `vnsearch` command: the front door to the indexer, the engine and the site."""
