"""Reading the photos: the words printed on a listing's photos (OCR) and the codes on the pack (barcodes, QR,
DataMatrix), as signals with the same contract as every other (matching/signals/result.py).

Where the pixels come from: the crawl's image pipeline keeps a *reading copy* of each photo (core.images.
reading_copy: the photo as fetched when it is a JPEG or PNG of at most Settings.reading_copy_max_side pixels, else
a downscaled JPEG), in table photo_copy keyed by the photo's SHA-256. The 256-pixel thumbnail is too small to read
print. OCR does not run in the crawl: at ~0.3 s a photo it would make reading the crawl's bottleneck (a plain crawl
stores hundreds of photos a second), and most photos never matter. Matching, a pure database step, reads the
copies of the photos that could matter (store.PhotoReader), caches what it read in photo_reading by SHA-256, and
prunes the copies it no longer needs (Settings.reading_copies_max_mb bounds what is kept).

  ocr.py      the RapidOCR engine (PP-OCR models shipped in the rapidocr wheel; loaded from disk, never downloaded)
  codes.py    zxing-cpp: barcodes, QR, DataMatrix; GTINs and serial tokens
  reading.py  what one photo showed, as plain values (PhotoRead) for ListingFacts
  store.py    the reading cache, the run budget, the report of what was read and skipped
  signals.py  photo text (names, stamps, lot codes) and photo codes (GTIN, issued serials, cloned serials)
  draw.py     the photo with the boxes of what was read, for the dashboard's detail page
"""
