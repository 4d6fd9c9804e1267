"""Signals: small pure functions, each answering one question about one listing with a SignalResult."""

from matching.signals.batch import batch_code_signal
from matching.signals.history import price_history_signal, relisting_signal, seller_history_signal
from matching.signals.image import image_signal
from matching.signals.network import network_signal
from matching.signals.price import price_signal
from matching.signals.region import region_signal
from matching.signals.relevance import relevance_signal
from matching.signals.result import Outcome, SignalResult
from matching.signals.seller import allowed_seller, authorisation_for, seller_signal
from matching.signals.text import counterfeit_tells_signal, diversion_tells_signal

__all__ = [
    "Outcome",
    "SignalResult",
    "allowed_seller",
    "authorisation_for",
    "batch_code_signal",
    "counterfeit_tells_signal",
    "diversion_tells_signal",
    "image_signal",
    "network_signal",
    "price_history_signal",
    "price_signal",
    "region_signal",
    "relevance_signal",
    "relisting_signal",
    "seller_history_signal",
    "seller_signal",
]
