// demo-js: the browser-rendered style of BrandPatrol's demo marketplace.
// The server sends an empty shell; this script fetches /api/... and builds the same DOM shapes the
// server-rendered style (demo-shop) sends, with textContent and createElement only, never innerHTML, so
// listing text is always text. When it is done (or has failed) it sets <body data-ready="1">, which a
// crawler waits for.
"use strict";

(function () {
  const app = document.getElementById("app");

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      node.setAttribute(name, value);
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) {
      const error = new Error(response.status === 404 ? "商品不存在或已下架" : "HTTP " + response.status);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  function priceText(price) {
    return "¥ " + price;
  }

  function card(item) {
    const li = el("li", { class: "card", "data-id": item.id });
    const link = el("a", { class: "card-link", href: "/js/item/" + encodeURIComponent(item.id) });
    link.appendChild(el("span", { class: "card-title" }, item.title));
    li.appendChild(link);
    li.appendChild(el("span", { class: "card-price" }, priceText(item.price)));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", { class: "card-location" }, item.location));
    return li;
  }

  function results(items) {
    const ul = el("ul", { class: "results" });
    for (const item of items) {
      ul.appendChild(card(item));
    }
    return ul;
  }

  async function renderSearch(params) {
    const query = params.get("q") || "";
    const page = params.get("page") || "1";
    const searchBox = document.querySelector(".search-form input[name=q]");
    if (searchBox) {
      searchBox.value = query;
    }
    const data = await getJSON("/api/search?" + new URLSearchParams({ q: query, page: page }));
    document.title = "搜索 " + query;
    app.appendChild(el("h1", { class: "search-heading" }, "搜索 “" + query + "” · 共 " + data.total + " 件"));
    app.appendChild(results(data.results));
    if (data.results.length === 0) {
      app.appendChild(el("p", { class: "empty" }, "没有找到相关商品。"));
    }
    const nav = el("nav", { class: "pager" });
    if (data.prev) {
      nav.appendChild(el("a", { class: "prev", rel: "prev", href: data.prev }, "上一页"));
      nav.appendChild(document.createTextNode(" "));
    }
    if (data.next) {
      nav.appendChild(el("a", { class: "next", rel: "next", href: data.next }, "下一页"));
      nav.appendChild(document.createTextNode(" "));
    }
    if (data.prev || data.next) {
      nav.appendChild(el("span", { class: "page-no" }, data.page + " / " + data.pages));
      app.appendChild(nav);
    }
  }

  async function renderItem(id) {
    const item = await getJSON("/api/item/" + encodeURIComponent(id));
    document.title = item.title;
    const article = el("article", { class: "item" });
    article.appendChild(el("h1", { class: "item-title" }, item.title));
    const meta = el("div", { class: "item-meta" });
    meta.appendChild(el("span", { class: "item-price", "data-currency": item.currency }, priceText(item.price)));
    meta.appendChild(el("a", {
      class: "shop-name",
      "data-shop-id": item.seller.id,
      href: "/js/seller/" + encodeURIComponent(item.seller.id),
    }, item.seller.name));
    meta.appendChild(el("span", { class: "ship-from" }, "发货地：" + item.location));
    meta.appendChild(el("span", { class: "item-sales" }, "月销 " + item.sales));
    article.appendChild(meta);
    const gallery = el("div", { class: "gallery" });
    for (const src of item.images) {
      gallery.appendChild(el("img", { src: src, alt: item.title }));
    }
    article.appendChild(gallery);
    article.appendChild(el("div", { class: "item-desc" }, item.description));
    app.appendChild(article);
  }

  async function renderSeller(id) {
    const seller = await getJSON("/api/seller/" + encodeURIComponent(id));
    document.title = seller.name;
    app.appendChild(el("h1", { class: "seller-name", "data-shop-id": seller.id }, seller.name));
    app.appendChild(el("p", { class: "seller-location" }, "所在地：" + seller.location));
    app.appendChild(results(seller.results));
  }

  async function main() {
    const path = window.location.pathname;
    let match;
    try {
      if (path === "/js/search") {
        await renderSearch(new URLSearchParams(window.location.search));
      } else if ((match = path.match(/^\/js\/item\/([^/]+)$/))) {
        await renderItem(decodeURIComponent(match[1]));
      } else if ((match = path.match(/^\/js\/seller\/([^/]+)$/))) {
        await renderSeller(decodeURIComponent(match[1]));
      } else {
        throw new Error("找不到页面");
      }
    } catch (error) {
      app.replaceChildren(el("h1", { class: "not-found" }, error.message || "加载失败"));
      document.body.dataset.error = String(error.status || "1");
    } finally {
      document.body.dataset.ready = "1";
    }
  }

  main();
})();
