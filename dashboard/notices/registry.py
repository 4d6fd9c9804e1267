"""The notice templates: which form each one fills, the grounds it may carry, its limits and what it requires.

Field lists follow ../shared/reference/takedown-forms.md (platform forms change: check the live form before
filing). The text of each notice is a shipped Jinja2 file in templates/; nothing here builds a template from data.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.notices.model import Ground

# eBay VeRO reason codes. The NOCI form numbers its codes (1.1 ...); the VeRO API uses marketplace-specific
# numeric ids, of which 9037 (unlawful importation, with countries[]) is the documented grey-market code. Fetch
# the others per marketplace with getVeroReasonCodes before filing through the API.
VERO_REASON_CODES: dict[Ground, str] = {
    Ground.COUNTERFEIT: "1.1",  # Item(s) is a counterfeit product which infringes a trademark
    Ground.COPYRIGHT_IMAGE: "4.2",  # Listing(s) contains unlawful copy of copyrighted image
    Ground.UNLAWFUL_IMPORTATION: "9037",  # Item(s) is unlawful importation of product bearing trademark
}
VERO_TEXT_MAX = 1000  # messageToSeller and detailedMessage
VERO_BRAND_MAX = 50


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    label: str
    file: str  # in templates/
    grounds: tuple[Ground, ...]
    marketplaces: tuple[str, ...]  # marketplace names (or name prefixes) the form belongs to; () = any
    max_links: int | None  # listings per request; larger drafts are split into several notices
    required: tuple[str, ...]  # rights-holder fields (Party attributes) the form cannot go without
    bulk: str  # bulk-form layout of the CSV / XLSX export (see tables.py)

    def fits_marketplace(self, marketplace: str) -> bool:
        name = marketplace.lower()
        return not self.marketplaces or any(name.startswith(m) for m in self.marketplaces)


TEMPLATES: dict[str, TemplateSpec] = {
    spec.name: spec
    for spec in (
        TemplateSpec(
            name="alibaba_ipp",
            label="Alibaba IPP (Taobao, Tmall, 1688, AliExpress)",
            file="alibaba_ipp.txt.j2",
            grounds=(Ground.COUNTERFEIT, Ground.COPYRIGHT_IMAGE),
            marketplaces=("taobao", "tmall", "1688", "alibaba", "aliexpress", "lazada"),
            max_links=300,  # one IPP request per IPR document flags up to 300 listings
            required=("name", "email"),
            bulk="alibaba",
        ),
        TemplateSpec(
            name="jd",
            label="JD.com IPR platform (ipr.jd.com)",
            file="jd.txt.j2",
            grounds=(Ground.COUNTERFEIT, Ground.COPYRIGHT_IMAGE),
            marketplaces=("jd",),
            max_links=None,
            required=("name", "email", "phone"),
            bulk="china",
        ),
        TemplateSpec(
            name="pinduoduo",
            label="Pinduoduo IP protection platform (ipp.pinduoduo.com)",
            file="pinduoduo.txt.j2",
            grounds=(Ground.COUNTERFEIT, Ground.COPYRIGHT_IMAGE),
            marketplaces=("pinduoduo", "pdd", "yangkeduo"),
            max_links=None,
            required=("name", "email", "phone"),
            bulk="china",
        ),
        TemplateSpec(
            name="amazon_rav",
            label='Amazon "Report a Violation" / Report Infringement',
            file="amazon_rav.txt.j2",
            grounds=(Ground.COUNTERFEIT, Ground.COPYRIGHT_IMAGE),
            marketplaces=("amazon",),
            max_links=50,  # practitioners report about 50 ASINs per report
            required=("name", "email", "address", "phone", "signatory"),
            bulk="amazon",
        ),
        TemplateSpec(
            name="ebay_vero",
            label="eBay VeRO Notice of Claimed Infringement (NOCI)",
            file="ebay_vero.txt.j2",
            grounds=(Ground.COUNTERFEIT, Ground.COPYRIGHT_IMAGE, Ground.UNLAWFUL_IMPORTATION),
            marketplaces=("ebay",),
            max_links=None,
            required=("name", "email", "address", "phone", "signatory", "signatory_title"),
            bulk="ebay",
        ),
        TemplateSpec(
            name="dmca",
            label="DMCA notice, 17 U.S.C. 512(c)(3)",
            file="dmca.txt.j2",
            grounds=(Ground.COPYRIGHT_IMAGE,),  # the DMCA covers copyright only
            marketplaces=(),
            max_links=None,
            required=("name", "signatory", "address", "phone"),
            bulk="generic",
        ),
        TemplateSpec(
            name="dsa_art16",
            label="EU Digital Services Act Article 16 notice",
            file="dsa_art16.txt.j2",
            grounds=(Ground.COUNTERFEIT, Ground.COPYRIGHT_IMAGE),
            marketplaces=(),
            max_links=None,
            required=("name", "email"),
            bulk="generic",
        ),
        TemplateSpec(
            name="distribution_policy",
            label="Distribution-policy report (channel diversion; not an IP complaint)",
            file="distribution_policy.txt.j2",
            grounds=(Ground.DIVERSION,),
            marketplaces=(),
            max_links=None,
            required=("name", "email"),
            bulk="generic",
        ),
    )
}

PARTY_FIELD_LABELS = {
    "name": "name",
    "email": "email",
    "address": "address",
    "phone": "phone",
    "signatory": "signatory (the person who signs)",
    "signatory_title": "signatory_title",
}


class UnknownTemplate(ValueError):
    pass


def template(name: str) -> TemplateSpec:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise UnknownTemplate(
            f"no notice template named '{name}'; use one of {', '.join(sorted(TEMPLATES))}"
        ) from None


def templates_for(marketplace: str, ground: Ground | None = None) -> list[TemplateSpec]:
    """Templates for a marketplace: its own platform's form first, then the general ones (DSA, DMCA, ...)."""
    specs = [t for t in TEMPLATES.values() if ground is None or ground in t.grounds]
    own = [t for t in specs if t.marketplaces and t.fits_marketplace(marketplace)]
    general = [t for t in specs if not t.marketplaces]
    return own + general if own else general + [t for t in specs if t.marketplaces]
