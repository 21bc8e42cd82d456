// The segment rule builder: the rule's JSON (in the textarea it enhances) built by pointing and clicking.
// Groups ("all of" / "any of") hold conditions and groups; every change writes the JSON back to the textarea, which
// stays the single source the form sends. A rule the builder cannot show is left to the textarea.
(function () {
  "use strict";

  const OPS = ["eq", "ne", "gt", "gte", "lt", "lte"];
  const KINDS = ["did", "did_not", "orders", "bought", "trait", "computed", "consent", "tier", "field", "province",
                 "near_store", "rfm", "predicted"];
  const RFM_GROUPS = ["champions", "loyal", "potential_loyalists", "new_customers", "promising", "need_attention",
                      "about_to_sleep", "at_risk", "cannot_lose", "hibernating", "lost"];
  const PREDICTED = ["value", "probability_alive", "expected_purchases"];
  const DEFAULTS = {
    did: () => ({did: "Order Completed", times: 1, days: 30}),
    did_not: () => ({did_not: "Order Completed", days: 90}),
    orders: () => ({orders: "count", op: "gte", value: 1, days: 365}),
    bought: () => ({bought: {sku: ""}, days: 90}),
    trait: () => ({trait: "", op: "eq", value: ""}),
    computed: () => ({computed: "revenue", op: "gte", value: 1000000}),
    consent: () => ({consent: {channel: "zalo", purpose: "marketing"}}),
    tier: () => ({tier: ["gold"]}),
    field: () => ({field: "", op: "equals", value: ""}),
    province: () => ({province: "Hà Nội"}),
    near_store: () => ({near_store: "", km: 3}),
    rfm: () => ({rfm: ["champions"]}),
    predicted: () => ({predicted: {value: {gte: 1000000}}}),
  };

  function element(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (value !== undefined && value !== null) node.setAttribute(name, value);
    });
    (children || []).forEach((child) => child && node.appendChild(child));
    return node;
  }

  function kindOf(condition) {
    return KINDS.find((kind) => Object.prototype.hasOwnProperty.call(condition, kind));
  }

  function isGroup(item) {
    return item && typeof item === "object" && (Array.isArray(item.all) || Array.isArray(item.any));
  }

  function numberOr(text, fallback) {
    const value = Number(String(text).trim());
    return String(text).trim() !== "" && Number.isFinite(value) ? value : fallback;
  }

  function scalar(text) {
    const trimmed = String(text).trim();
    if (trimmed === "true" || trimmed === "false") return trimmed === "true";
    return trimmed !== "" && Number.isFinite(Number(trimmed)) ? Number(trimmed) : String(text);
  }

  class Builder {
    constructor(textarea, texts) {
      this.textarea = textarea;
      this.t = texts;
      this.root = element("div", {class: "rule-builder", role: "group", "aria-label": texts.builder});
      textarea.closest(".field").before(this.root);
      textarea.addEventListener("change", () => this.load());
      this.load();
    }

    load() {
      let rule;
      try {
        rule = JSON.parse(this.textarea.value || "{\"all\": []}");
      } catch (error) {
        this.root.replaceChildren(element("p", {class: "hint", text: this.t.unreadable}));
        return;
      }
      if (!isGroup(rule)) {
        this.root.replaceChildren(element("p", {class: "hint", text: this.t.unreadable}));
        return;
      }
      this.rule = rule;
      this.render();
    }

    save() {
      this.textarea.value = JSON.stringify(this.rule, null, 2);
    }

    changed() {
      this.save();
      this.render();
    }

    render() {
      this.root.replaceChildren(this.group(this.rule, null));
    }

    group(group, parent) {
      const mode = Array.isArray(group.all) ? "all" : "any";
      const items = group[mode];
      const choose = element("select", {"aria-label": this.t.combine, onchange: (event) => {
        group[event.target.value] = items;
        delete group[mode];
        this.changed();
      }}, ["all", "any"].map((value) => element("option", {value, text: this.t[value]})));
      choose.value = mode;
      const list = element("ol", {class: "rule-builder__items"},
                           items.map((item, index) => element("li", {}, [this.item(item, items, index)])));
      const kinds = element("select", {"aria-label": this.t.add_condition},
                            KINDS.map((kind) => element("option", {value: kind, text: this.t.kinds[kind]})));
      const bar = element("p", {class: "rule-builder__bar"}, [
        kinds,
        element("button", {type: "button", class: "button button--quiet", text: this.t.add_condition,
                           onclick: () => { items.push(DEFAULTS[kinds.value]()); this.changed(); }}),
        element("button", {type: "button", class: "button button--quiet", text: this.t.add_group,
                           onclick: () => { items.push({any: []}); this.changed(); }}),
        parent ? element("button", {type: "button", class: "button button--quiet", text: this.t.remove_group,
                                    onclick: () => { parent.items.splice(parent.index, 1); this.changed(); }})
          : null,
      ]);
      return element("fieldset", {class: "rule-builder__group"}, [
        element("legend", {}, [choose]), list, bar]);
    }

    item(item, items, index) {
      if (isGroup(item)) return this.group(item, {items, index});
      const kind = kindOf(item);
      const remove = element("button", {type: "button", class: "button button--quiet", "aria-label": this.t.remove,
                                        text: "×", onclick: () => { items.splice(index, 1); this.changed(); }});
      const fields = kind ? this.fields(kind, item) : [element("code", {text: JSON.stringify(item)})];
      return element("div", {class: "rule-builder__condition"}, [
        element("strong", {text: kind ? this.t.kinds[kind] : "?"}), ...fields, remove]);
    }

    input(label, value, onInput, attributes) {
      const field = element("input", {"aria-label": label, placeholder: label, value: value === undefined ? "" : value,
                                      ...(attributes || {})});
      field.addEventListener("change", () => { onInput(field.value); this.save(); });
      return field;
    }

    select(label, value, options, onChoose) {
      const field = element("select", {"aria-label": label},
                            options.map((option) => element("option", {value: option, text: this.t.words[option]
                                                                       || option})));
      field.value = value;
      field.addEventListener("change", () => { onChoose(field.value); this.changed(); });
      return field;
    }

    fields(kind, c) {
      const t = this.t.fields;
      switch (kind) {
        case "did":
          return [this.input(t.event, c.did, (v) => { c.did = v; }, {list: "rule-builder-events"}),
                  this.input(t.times, c.times, (v) => { c.times = numberOr(v, 1); }, {type: "number", min: 1}),
                  this.input(t.days, c.days, (v) => { c.days = numberOr(v, 30); }, {type: "number", min: 1})];
        case "did_not":
          return [this.input(t.event, c.did_not, (v) => { c.did_not = v; }, {list: "rule-builder-events"}),
                  this.input(t.days, c.days, (v) => { c.days = numberOr(v, 30); }, {type: "number", min: 1})];
        case "orders":
          return [this.select(t.measure, c.orders, ["count", "total"], (v) => { c.orders = v; }),
                  this.select(t.op, c.op, OPS, (v) => { c.op = v; }),
                  this.input(t.value, c.value, (v) => { c.value = numberOr(v, 0); }, {type: "number", min: 0}),
                  this.input(t.days, c.days, (v) => {
                    if (String(v).trim()) c.days = numberOr(v, 365); else delete c.days;
                  }, {type: "number", min: 1})];
        case "bought": {
          const key = ["sku", "product_id", "category_id"].find((name) => name in c.bought) || "sku";
          return [this.select(t.by, key, ["sku", "product_id", "category_id"], (v) => {
                    c.bought = {[v]: v === "sku" ? "" : 1};
                  }),
                  this.input(t.value, c.bought[key], (v) => { c.bought = {[key]: key === "sku" ? v : numberOr(v, 1)}; }),
                  this.input(t.days, c.days, (v) => {
                    if (String(v).trim()) c.days = numberOr(v, 90); else delete c.days;
                  }, {type: "number", min: 1})];
        }
        case "trait":
          return [this.input(t.trait, c.trait, (v) => { c.trait = v.trim(); }),
                  this.select(t.op, c.op, [...OPS, "exists", "missing"], (v) => {
                    c.op = v;
                    if (v === "exists" || v === "missing") delete c.value; else if (c.value === undefined) c.value = "";
                  }),
                  c.op === "exists" || c.op === "missing" ? null
                    : this.input(t.value, c.value, (v) => { c.value = scalar(v); })];
        case "computed":
          return [this.select(t.measure, c.computed, ["orders", "events", "revenue", "preferred_channel"],
                              (v) => { c.computed = v; if (v === "preferred_channel") { c.op = "eq"; c.value = "zalo"; } }),
                  this.select(t.op, c.op, c.computed === "preferred_channel" ? ["eq", "ne"] : OPS, (v) => { c.op = v; }),
                  this.input(t.value, c.value, (v) => { c.value = c.computed === "preferred_channel" ? v : numberOr(v, 0); })];
        case "consent":
          return [this.select(t.channel, c.consent.channel, ["zalo", "messenger", "whatsapp", "sms", "email"],
                              (v) => { c.consent.channel = v; }),
                  this.select(t.purpose, c.consent.purpose, ["marketing", "care", "transactional"],
                              (v) => { c.consent.purpose = v; })];
        case "tier":
          return [this.input(t.tiers, c.tier.join(", "), (v) => {
            c.tier = v.split(",").map((part) => part.trim()).filter(Boolean);
          })];
        case "field":
          return [this.input(t.field, c.field, (v) => { c.field = v.trim(); }),
                  this.select(t.op, c.op, ["equals", "contains", "between", "any_of", "is_set"], (v) => { c.op = v; }),
                  this.input(t.value, typeof c.value === "object" ? JSON.stringify(c.value) : c.value, (v) => {
                    try { c.value = JSON.parse(v); } catch (error) { c.value = v; }
                  })];
        case "province":
          return [this.input(t.province, c.province, (v) => { c.province = v; })];
        case "near_store":
          return [this.input(t.store, c.near_store, (v) => { c.near_store = v.trim(); }),
                  this.input(t.km, c.km, (v) => { c.km = numberOr(v, 3); }, {type: "number", min: 0.1, step: 0.1})];
        case "rfm":
          return RFM_GROUPS.map((group) => {
            const box = element("input", {type: "checkbox", value: group});
            box.checked = c.rfm.includes(group);
            box.addEventListener("change", () => {
              c.rfm = RFM_GROUPS.filter((name) => name === group ? box.checked : c.rfm.includes(name));
              this.save();
            });
            return element("label", {class: "rule-builder__check"}, [box, document.createTextNode(" " + this.t.words[group])]);
          });
        case "predicted": {
          const measures = Object.keys(c.predicted);
          const compared = measures.length === 1 ? c.predicted[measures[0]] : null;
          if (!compared || Object.keys(compared).length !== 1) return [element("code", {text: JSON.stringify(c.predicted)})];
          const measure = measures[0];
          const op = Object.keys(compared)[0];
          const bound = compared[op];
          return [this.select(t.measure, measure, PREDICTED, (v) => {
                    c.predicted = {[v]: {[op]: v === "probability_alive" ? 0.5 : bound}};
                  }),
                  this.select(t.op, op, ["gt", "gte", "lt", "lte"], (v) => { c.predicted = {[measure]: {[v]: bound}}; }),
                  this.input(t.value, bound, (v) => { c.predicted = {[measure]: {[op]: numberOr(v, 0)}}; },
                             {type: "number", min: 0, step: "any"})];
        }
        default:
          return [];
      }
    }
  }

  document.querySelectorAll("textarea[data-rule-builder]").forEach((textarea) => {
    const texts = JSON.parse(document.getElementById(textarea.dataset.ruleBuilder).textContent);
    new Builder(textarea, texts);
  });
})();
