"""The marketplace sync: connected Shopee and Lazada shops, their order pushes and lost-push recovery, stock pushes
and reconciliation, and the activity log."""
