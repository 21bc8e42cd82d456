"""Commerce: one catalogue, one price and promotion engine, one stock with reservations, orders from every channel.

Sub-domains: ``catalogue`` (products, variants, channel listings), ``pricing`` (price lists, promotions, VAT,
quotes), ``stock`` (locations, the stock ledger, reservations, channel buffers), ``orders`` (orders, payments,
fulfilment, returns) and ``marketplaces`` (Shopee and Lazada shops: order intake and stock pushes).
"""
