"""The Scan tab: pick or drop a folder, scan it with the engine, act on the results, reopen past scans."""
