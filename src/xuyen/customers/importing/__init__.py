"""Customer list imports: CSV and Excel files mapped, validated and sent through the event ingestion."""
