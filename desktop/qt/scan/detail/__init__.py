"""The Scan tab's detail side: one file's preview, heatmap, evidence and full-size viewer."""
