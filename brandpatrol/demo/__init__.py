"""The bundled demo: the Lumina / 露米娜 brand and a local marketplace to crawl, in two styles.

    catalogue = build_catalogue()                        # the tuning market: 50 listings on each of demo-shop, demo-js
    with DemoServer(catalogue) as server:                # 127.0.0.1, a free port
        config_path = catalogue.write_workspace(Path("demo"), server.base_url)
        ...                                              # crawl server.base_url, score against labels.csv

demo-shop renders its pages on the server; demo-js sends an empty shell that static/app.js fills from
/api/..., so it can only be crawled with a browser. Photos come from scikit-image's bundled samples, altered
with Pillow at run time; nothing is downloaded and no image is committed.
"""

from brandpatrol.demo.catalogue import LABELS, DemoCatalogue, DemoListing
from brandpatrol.demo.market import build_catalogue
from brandpatrol.demo.site import DemoServer

__all__ = ["LABELS", "DemoCatalogue", "DemoListing", "DemoServer", "build_catalogue"]
