"""The catalogue: products, their variants (one SKU each), categories, images, and channel listings."""
