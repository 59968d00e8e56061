"""The Scan tab's results: table and grid model, filter proxy, delegates, summary (counts, histogram)."""
