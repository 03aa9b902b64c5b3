//! Contracts, orders and their items, quotes and their line items, and assets: the sales
//! data model beyond opportunities, derived from accounts, opportunities and the catalog so
//! that adding them shifts no other generated value.
//!
//! - Contract `c` belongs to the first business account from account `20 c` (accounts at
//!   offset 3 of a block of ten are never person accounts nor soft-deleted, so one is near).
//!   Its status, price book and dates come from a stream of its own.
//! - Order `o` is contract `o`'s account's: under the contract when the contract is
//!   activated (Salesforce takes orders only on activated contracts), with the contract's
//!   price book when it names one and starting within its term; without a contract
//!   otherwise. An order has two items from entries of its price book in its currency (the
//!   contract's, or its own); `TotalAmount` is their sum.
//! - Quote `q` is on opportunity `8 q` (even, so it has line items and a price book, never
//!   soft-deleted): the opportunity's price book, currency and account; its two line items
//!   quote the opportunity's two products from the same entries; the quote's totals are the
//!   lines' sums.
//! - Assets come three per even contract: a root of the contract's account, a child of the
//!   root and a grandchild (`ParentId`), every one's `RootAssetId` the root (the root's is
//!   itself), all in the root's currency.

use super::*;

/// Accounts per contract: contract `c` is account `20 c`'s (or the next business account).
const CONTRACT_ACCOUNT_STRIDE: u64 = 20;
/// Items per order.
const ITEMS_PER_ORDER: u64 = 2;
/// Opportunities per quote: quote `q` is on opportunity `8 q`.
const QUOTE_OPPORTUNITY_STRIDE: u64 = 8;
/// Line items per quote: one per line item of its opportunity.
const LINES_PER_QUOTE: u64 = ITEMS_PER_OPPORTUNITY;
/// Assets per block (a root, its child, the child's child); one block per even contract.
const ASSETS_PER_BLOCK: u64 = 3;
/// The commerce objects' choices (statuses, price books, products), apart from every
/// record's own stream.
const SALT_COMMERCE: u64 = 0x434f_4d4d;

/// The commerce objects, sized from accounts and opportunities: on top of the records asked
/// for, like the other derived objects.
pub(super) const COMMERCE: [Generated; 6] = [
    Generated::Contract,
    Generated::Order,
    Generated::OrderItem,
    Generated::Quote,
    Generated::QuoteLineItem,
    Generated::Asset,
];

/// Adds the commerce objects' sizes to `counts`, which holds accounts and opportunities.
pub(super) fn add_counts(counts: &mut BTreeMap<Generated, u64>) {
    let accounts = counts.get(&Generated::Account).copied().unwrap_or(0);
    let opportunities = counts.get(&Generated::Opportunity).copied().unwrap_or(0);
    let contracts = accounts.div_ceil(CONTRACT_ACCOUNT_STRIDE);
    counts.insert(Generated::Contract, contracts);
    counts.insert(Generated::Order, contracts);
    counts.insert(Generated::OrderItem, contracts * ITEMS_PER_ORDER);
    let quotes = opportunities.div_ceil(QUOTE_OPPORTUNITY_STRIDE);
    counts.insert(Generated::Quote, quotes);
    counts.insert(Generated::QuoteLineItem, quotes * LINES_PER_QUOTE);
    counts.insert(Generated::Asset, contracts.div_ceil(2) * ASSETS_PER_BLOCK);
}

/// `days` plus `months` calendar months (the day clamped to the month's length).
fn add_months(days: i64, months: i64) -> i64 {
    let (y, m, d) = crate::value::civil_from_days(days);
    let total = y * 12 + i64::from(m) - 1 + months;
    let (y, m) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    let next = if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    };
    let length = (next - days_from_civil(y, m, 1)) as u32;
    days_from_civil(y, m, d.min(length))
}

/// Salesforce's default auto-number display (`{00000000}`), counting from 100.
fn auto_number(index: u64, width: usize) -> String {
    format!("{:0width$}", 100 + index)
}

fn day_of(value: &Val) -> i64 {
    match value {
        Val::DateTime(s) => s.div_euclid(86_400),
        Val::Date(d) => *d,
        _ => HISTORY_START_DAY,
    }
}

impl Org {
    /// The record whose currency a commerce record has: an order under a contract has the
    /// contract's, items their order's or quote's, a quote its opportunity's, an asset its
    /// root's. `None` for a record with a currency of its own.
    pub(super) fn currency_parent(&self, kind: Generated, index: u64) -> Option<(Generated, u64)> {
        match kind {
            Generated::Order => self
                .order_contract(index)
                .map(|contract| (Generated::Contract, contract)),
            Generated::OrderItem => Some((Generated::Order, index / ITEMS_PER_ORDER)),
            Generated::Quote => Some((Generated::Opportunity, self.quote_opportunity(index))),
            Generated::QuoteLineItem => Some((Generated::Quote, index / LINES_PER_QUOTE)),
            Generated::Asset if !index.is_multiple_of(ASSETS_PER_BLOCK) => {
                Some((Generated::Asset, index - index % ASSETS_PER_BLOCK))
            }
            _ => None,
        }
    }

    /// The position of the currency of record `index` of `kind` among the org's
    /// currencies: the block of price book entries its items come from.
    fn currency_block(&self, kind: Generated, index: u64) -> u64 {
        match self.record_currency(kind, index) {
            Some(code) if self.features.multi_currency => self
                .currencies()
                .iter()
                .position(|c| *c == code)
                .unwrap_or(0) as u64,
            _ => 0,
        }
    }

    /// The generated value of `field` of record `index` of `kind` (no overlay, no currency).
    fn generated_value(&self, kind: Generated, index: u64, field: &str) -> Val {
        generated_object(kind)
            .field_index(field)
            .and_then(|at| self.generate_fields(kind, index).get(at).cloned())
            .unwrap_or(Val::Null)
    }

    /// The list price of price book entry `entry`, in the entry's currency.
    fn entry_price(&self, entry: u64) -> f64 {
        match self.generated_value(Generated::PricebookEntry, entry, "UnitPrice") {
            Val::Num(price) => price,
            _ => 0.0,
        }
    }

    /// `amount` rounded to the decimal places of record `index` of `kind`'s currency.
    fn rounded(&self, kind: Generated, index: u64, amount: f64) -> f64 {
        let scale = 10f64.powi(self.places(kind, index) as i32);
        (amount * scale).round() / scale
    }

    /// The account of contract `index`: the first business account, live, from account
    /// `20 index`.
    pub fn contract_account(&self, index: u64) -> Option<u64> {
        let start = index * CONTRACT_ACCOUNT_STRIDE;
        (start..self.count(Generated::Account)).find(|&account| {
            !self.is_person_account(account)
                && !self.statically_deleted(Generated::Account, account)
        })
    }

    /// Contract `index`'s status, its price book (if it names one) and its term in months.
    fn contract_terms(&self, index: u64) -> (&'static str, Option<u64>, i64) {
        let mut rng = Rng::for_record(self.seed, SALT_COMMERCE ^ salt(Generated::Contract), index);
        let status = match rng.below(100) {
            0..=69 => "Activated",
            70..=89 => "Draft",
            _ => "In Approval Process",
        };
        let book = rng.chance(70).then(|| rng.below(PRICE_BOOKS.len() as u64));
        let term = [12, 24, 36][rng.below(3) as usize];
        (status, book, term)
    }

    /// The contract order `index` is under: contract `index` when it is activated.
    pub fn order_contract(&self, index: u64) -> Option<u64> {
        (index < self.count(Generated::Contract) && self.contract_terms(index).0 == "Activated")
            .then_some(index)
    }

    /// The price book and the two products of order `index`: the contract's price book when
    /// the order is under one that names it, else one of its own.
    pub fn order_products(&self, index: u64) -> (u64, [u64; 2]) {
        let mut rng = Rng::for_record(self.seed, SALT_COMMERCE ^ salt(Generated::Order), index);
        let own = rng.below(PRICE_BOOKS.len() as u64);
        let book = self
            .order_contract(index)
            .and_then(|contract| self.contract_terms(contract).1)
            .unwrap_or(own);
        let sellable = PRODUCT_COUNT - 1;
        let first = rng.below(sellable);
        let second = (first + 1 + rng.below(sellable - 1)) % sellable;
        (book, [first, second])
    }

    /// Order item `index`'s entry, list price, unit price, quantity and total price.
    fn order_line(&self, index: u64) -> (u64, f64, f64, f64, f64) {
        let kind = Generated::OrderItem;
        let order = index / ITEMS_PER_ORDER;
        let (book, products) = self.order_products(order);
        let product = products[(index % ITEMS_PER_ORDER) as usize];
        let entry = self.entry_index(self.currency_block(Generated::Order, order), book, product);
        let list = self.entry_price(entry);
        let mut rng = Rng::for_record(self.seed, SALT_COMMERCE ^ salt(kind), index);
        let quantity = (1 + rng.below(10)) as f64;
        let unit = if rng.chance(30) {
            self.rounded(kind, index, list * 0.95)
        } else {
            list
        };
        let total = self.rounded(kind, index, unit * quantity);
        (entry, list, unit, quantity, total)
    }

    /// The opportunity quote `index` is on.
    pub fn quote_opportunity(&self, index: u64) -> u64 {
        index * QUOTE_OPPORTUNITY_STRIDE
    }

    /// Quote line item `index`'s entry, list price, quantity, discount, subtotal and total.
    fn quote_line(&self, index: u64) -> (u64, f64, f64, Val, f64, f64) {
        let kind = Generated::QuoteLineItem;
        let opportunity = self.quote_opportunity(index / LINES_PER_QUOTE);
        // The opportunity's line item of the same position: its entry.
        let entry = self
            .line_item_entry(opportunity + index % LINES_PER_QUOTE)
            .unwrap_or(0);
        let list = self.entry_price(entry);
        let mut rng = Rng::for_record(self.seed, SALT_COMMERCE ^ salt(kind), index);
        let quantity = (1 + rng.below(20)) as f64;
        let discount = opt(&mut rng, 40, |r| Val::Num((5 * (1 + r.below(5))) as f64));
        let off = match discount {
            Val::Num(percent) => percent / 100.0,
            _ => 0.0,
        };
        let subtotal = self.rounded(kind, index, list * quantity);
        let total = self.rounded(kind, index, subtotal * (1.0 - off));
        (entry, list, quantity, discount, subtotal, total)
    }

    pub(super) fn contract(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Contract;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let (status, book, term) = self.contract_terms(index);
        let account = match self.contract_account(index) {
            Some(account) => Val::Str(self.id(Generated::Account, account)),
            None => Val::Null,
        };
        let notice = opt(&mut rng, 40, |r| {
            Val::Str(r.pick(crate::schema::CONTRACT_NOTICES).to_string())
        });
        let owner = self.owner(&mut rng);
        let description = opt(&mut rng, 40, |r| Val::Str(r.pick(DESCRIPTIONS).to_string()));
        let audit = self.audit(&mut rng, kind, index);
        let start = day_of(&audit[0]) + rng.below(30) as i64;
        let end = add_months(start, term) - 1;
        let (code, activated) = match status {
            "Activated" => (
                "Activated",
                match audit[1] {
                    Val::DateTime(s) => Val::DateTime(s),
                    _ => Val::Null,
                },
            ),
            "Draft" => ("Draft", Val::Null),
            _ => ("InApproval", Val::Null),
        };
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            account,
            match book {
                Some(book) => Val::Str(self.id(Generated::Pricebook2, book)),
                None => Val::Null,
            },
            notice,
            Val::Date(start),
            Val::Date(end),
            Val::Int(term),
            owner,
            Val::Str(status.to_string()),
            Val::Str(code.to_string()),
            activated,
            description,
            Val::Str(auto_number(index, 8)),
        ];
        values.extend(audit);
        values
    }

    pub(super) fn order(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Order;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let contract = self.order_contract(index);
        let (book, _) = self.order_products(index);
        let account = match self.contract_account(index) {
            Some(account) => Val::Str(self.id(Generated::Account, account)),
            None => Val::Null,
        };
        let owner = self.owner(&mut rng);
        let audit = self.audit(&mut rng, kind, index);
        // Within the contract's term: from its start date.
        let effective = match contract {
            Some(contract) => {
                day_of(&self.generated_value(Generated::Contract, contract, "StartDate"))
                    + rng.below(60) as i64
            }
            None => day_of(&audit[0]),
        };
        let end = opt(&mut rng, 30, |r| {
            Val::Date(effective + 30 + r.below(300) as i64)
        });
        // Only an order under an activated contract, or under none, can be activated.
        let status = if rng.chance(60) { "Activated" } else { "Draft" };
        let description = opt(&mut rng, 40, |r| Val::Str(r.pick(DESCRIPTIONS).to_string()));
        let name = opt(&mut rng, 50, |r| {
            Val::Str(format!("{} order", r.pick(PRODUCTS)))
        });
        let total: f64 = (0..ITEMS_PER_ORDER)
            .map(|k| self.order_line(index * ITEMS_PER_ORDER + k).4)
            .sum();
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            owner,
            match contract {
                Some(contract) => Val::Str(self.id(Generated::Contract, contract)),
                None => Val::Null,
            },
            account,
            Val::Str(self.id(Generated::Pricebook2, book)),
            Val::Date(effective),
            end,
            Val::Str(status.to_string()),
            description,
            name,
            Val::Str(status.to_string()),
            Val::Str(auto_number(index, 8)),
            Val::Num(self.rounded(kind, index, total)),
        ];
        values.extend(audit);
        values
    }

    pub(super) fn order_item(&self, index: u64) -> Vec<Val> {
        let kind = Generated::OrderItem;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let order = index / ITEMS_PER_ORDER;
        let (entry, list, unit, quantity, total) = self.order_line(index);
        let service = self.generated_value(Generated::Order, order, "EffectiveDate");
        let description = opt(&mut rng, 30, |r| Val::Str(r.pick(DESCRIPTIONS).to_string()));
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(self.id(Generated::Product2, entry % PRODUCT_COUNT)),
            Val::Str(self.id(Generated::Order, order)),
            Val::Str(self.id(Generated::PricebookEntry, entry)),
            Val::Num(quantity),
            Val::Num(unit),
            Val::Num(list),
            Val::Num(total),
            service,
            description,
            Val::Str(auto_number(index, 10)),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    pub(super) fn quote(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Quote;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let opportunity = self.quote_opportunity(index);
        let book = self
            .opportunity_products(opportunity)
            .map(|(book, _)| Val::Str(self.id(Generated::Pricebook2, book)))
            .unwrap_or(Val::Null);
        let opportunity_name =
            match self.generated_value(Generated::Opportunity, opportunity, "Name") {
                Val::Str(name) => name,
                _ => String::new(),
            };
        let account = self.generated_value(Generated::Opportunity, opportunity, "AccountId");
        let contact = opt(&mut rng, 60, |r| self.live_ref(Generated::Contact, r));
        let status = rng.pick(crate::schema::QUOTE_STATUS).to_string();
        let description = opt(&mut rng, 40, |r| Val::Str(r.pick(DESCRIPTIONS).to_string()));
        let audit = self.audit(&mut rng, kind, index);
        let expiration = Val::Date(day_of(&audit[0]) + 30);
        let lines: Vec<_> = (0..LINES_PER_QUOTE)
            .map(|k| self.quote_line(index * LINES_PER_QUOTE + k))
            .collect();
        let subtotal = self.rounded(kind, index, lines.iter().map(|line| line.4).sum());
        let total = self.rounded(kind, index, lines.iter().map(|line| line.5).sum());
        let discount = if subtotal > 0.0 {
            ((1.0 - total / subtotal) * 10_000.0).round() / 100.0
        } else {
            0.0
        };
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(format!("{opportunity_name} Quote")),
            Val::Str(self.id(Generated::Opportunity, opportunity)),
            book,
            contact,
            account,
            Val::Str(auto_number(index, 8)),
            Val::Bool(false),
            Val::Str(status),
            expiration,
            description,
            Val::Num(subtotal),
            Val::Num(discount),
            Val::Num(total),
            Val::Num(total),
            Val::Int(LINES_PER_QUOTE as i64),
        ];
        values.extend(audit);
        values
    }

    pub(super) fn quote_line_item(&self, index: u64) -> Vec<Val> {
        let kind = Generated::QuoteLineItem;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let quote = index / LINES_PER_QUOTE;
        let (entry, list, quantity, discount, subtotal, total) = self.quote_line(index);
        let service = opt(&mut rng, 30, |r| {
            Val::Date(HISTORY_START_DAY + r.below(2_000) as i64)
        });
        let description = opt(&mut rng, 30, |r| Val::Str(r.pick(DESCRIPTIONS).to_string()));
        let position = 1 + index % LINES_PER_QUOTE;
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(format!("{position:08}")),
            Val::Str(self.id(Generated::Quote, quote)),
            Val::Str(self.id(Generated::PricebookEntry, entry)),
            Val::Str(self.id(Generated::Product2, entry % PRODUCT_COUNT)),
            Val::Num(quantity),
            Val::Num(list),
            discount,
            Val::Num(list),
            Val::Num(subtotal),
            Val::Num(total),
            service,
            description,
            Val::Int(position as i64),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    /// The parent of asset `index`: a block's root has none, its second asset hangs under
    /// the root and its third under the second.
    pub fn asset_parent(&self, index: u64) -> Option<u64> {
        (!index.is_multiple_of(ASSETS_PER_BLOCK)).then(|| index - 1)
    }

    pub(super) fn asset(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Asset;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let root = index - index % ASSETS_PER_BLOCK;
        let contract = index / ASSETS_PER_BLOCK * 2;
        let account = match self.contract_account(contract) {
            Some(account) => Val::Str(self.id(Generated::Account, account)),
            None => Val::Null,
        };
        let contact = opt(&mut rng, 50, |r| self.live_ref(Generated::Contact, r));
        let product = rng.below(PRODUCT_COUNT - 1);
        let (product_name, _) = Self::product_name(product);
        let code = self
            .record_currency(kind, index)
            .filter(|_| self.features.multi_currency)
            .unwrap_or(self.corporate_currency());
        let price = self.in_currency(self.product_list_price(product), code);
        let audit = self.audit(&mut rng, kind, index);
        let purchase = day_of(&audit[0]);
        let install = opt(&mut rng, 70, |r| Val::Date(purchase + r.below(60) as i64));
        let usage_end = opt(&mut rng, 30, |r| {
            Val::Date(purchase + 365 + r.below(730) as i64)
        });
        let status = rng.pick(crate::schema::ASSET_STATUS).to_string();
        let description = opt(&mut rng, 30, |r| Val::Str(r.pick(DESCRIPTIONS).to_string()));
        let owner = self.owner(&mut rng);
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            contact,
            account,
            match self.asset_parent(index) {
                Some(parent) => Val::Str(self.id(kind, parent)),
                None => Val::Null,
            },
            Val::Str(self.id(kind, root)),
            Val::Str(self.id(Generated::Product2, product)),
            Val::Bool(rng.chance(5)),
            Val::Str(product_name),
            Val::Str(format!("SN-{:07}", 1_000_000 + index)),
            install,
            Val::Date(purchase),
            usage_end,
            Val::Str(status),
            Val::Num(price),
            Val::Num((1 + rng.below(5)) as f64),
            description,
            owner,
        ];
        values.extend(audit);
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(org: &Org, kind: Generated, index: u64, field: &str) -> Val {
        let at = generated_object(kind)
            .field_index(field)
            .unwrap_or_else(|| panic!("{} has no {field}", kind.object_name()));
        org.record(kind, index)[at].clone()
    }

    fn id_index(org: &Org, kind: Generated, value: &Val) -> u64 {
        match value {
            Val::Str(id) => org
                .index_of(kind, id)
                .unwrap_or_else(|| panic!("{id} is no {}", kind.object_name())),
            other => panic!("{other:?} is not an id of {}", kind.object_name()),
        }
    }

    fn number(org: &Org, kind: Generated, index: u64, field: &str) -> f64 {
        match value(org, kind, index, field) {
            Val::Num(n) => n,
            Val::Null => 0.0,
            other => panic!("{field} {other:?}"),
        }
    }

    fn orgs() -> [Org; 3] {
        let features = |person_accounts, multi_currency| Features {
            person_accounts,
            multi_currency,
        };
        [
            Org::new(7, 6_000),
            Org::with_features(7, 6_000, Mix::Sales, features(false, true)),
            Org::with_features(8, 6_000, Mix::Sales, features(true, true)),
        ]
    }

    /// Checks that item `item` of `kind` is sold from an active entry of `book` for its
    /// own product, in `currency` when the org has several.
    fn sold_from(org: &Org, kind: Generated, item: u64, book: &Val, currency: &Val) -> u64 {
        let entry = id_index(
            org,
            Generated::PricebookEntry,
            &value(org, kind, item, "PricebookEntryId"),
        );
        let entry_value = |field| value(org, Generated::PricebookEntry, entry, field);
        assert_eq!(&entry_value("Pricebook2Id"), book, "{kind:?} {item}");
        assert_eq!(entry_value("IsActive"), Val::Bool(true));
        assert_eq!(
            entry_value("Product2Id"),
            value(org, kind, item, "Product2Id")
        );
        assert_eq!(
            entry_value("UnitPrice"),
            value(org, kind, item, "ListPrice")
        );
        if org.features().multi_currency {
            assert_eq!(&value(org, kind, item, "CurrencyIsoCode"), currency);
            assert_eq!(&entry_value("CurrencyIsoCode"), currency);
        }
        entry
    }

    #[test]
    fn commerce_objects_come_on_top_and_stay_a_few_percent() {
        for n in [0u64, 1, 999, 50_000] {
            let org = Org::new(1, n);
            assert_eq!(org.scaled_total(), n);
            let commerce: u64 = COMMERCE.iter().map(|&kind| org.count(kind)).sum();
            assert!(commerce * 100 <= n.max(1) * 6, "{commerce} of {n}");
            if n >= 999 {
                for kind in COMMERCE {
                    assert!(org.count(kind) > 0, "{kind:?}");
                }
            }
        }
    }

    #[test]
    fn add_months_clamps_to_the_months_length() {
        let day = |y, m, d| days_from_civil(y, m, d);
        assert_eq!(add_months(day(2021, 1, 31), 1), day(2021, 2, 28));
        assert_eq!(add_months(day(2020, 11, 15), 12), day(2021, 11, 15));
        assert_eq!(add_months(day(2020, 12, 1), 1), day(2021, 1, 1));
    }

    #[test]
    fn contracts_belong_to_business_accounts_and_end_after_their_term() {
        for org in orgs() {
            for c in 0..org.count(Generated::Contract) {
                let account = id_index(
                    &org,
                    Generated::Account,
                    &value(&org, Generated::Contract, c, "AccountId"),
                );
                assert!(!org.is_deleted(Generated::Account, account));
                assert!(!org.is_person_account(account), "contract {c}");
                let (Val::Date(start), Val::Date(end), Val::Int(term)) = (
                    value(&org, Generated::Contract, c, "StartDate"),
                    value(&org, Generated::Contract, c, "EndDate"),
                    value(&org, Generated::Contract, c, "ContractTerm"),
                ) else {
                    panic!("contract {c} has no term");
                };
                assert_eq!(end, add_months(start, term) - 1);
                let status = value(&org, Generated::Contract, c, "Status");
                let code = value(&org, Generated::Contract, c, "StatusCode");
                let expected = match status.as_str() {
                    Some("Activated") => "Activated",
                    Some("Draft") => "Draft",
                    _ => "InApproval",
                };
                assert_eq!(code, Val::Str(expected.to_string()));
                assert_eq!(
                    value(&org, Generated::Contract, c, "ActivatedDate").is_null(),
                    expected != "Activated"
                );
            }
        }
    }

    #[test]
    fn orders_are_under_activated_contracts_and_sold_from_their_price_book() {
        for org in orgs() {
            let mut under_contract = 0;
            let mut items = 0;
            for o in 0..org.count(Generated::Order) {
                let order = |field| value(&org, Generated::Order, o, field);
                let contract = order("ContractId");
                let currency = order("CurrencyIsoCode");
                if contract != Val::Null {
                    under_contract += 1;
                    let c = id_index(&org, Generated::Contract, &contract);
                    let of_contract = |field| value(&org, Generated::Contract, c, field);
                    assert_eq!(of_contract("Status"), Val::Str("Activated".into()));
                    assert_eq!(order("AccountId"), of_contract("AccountId"));
                    assert_eq!(currency, of_contract("CurrencyIsoCode"));
                    if of_contract("Pricebook2Id") != Val::Null {
                        assert_eq!(order("Pricebook2Id"), of_contract("Pricebook2Id"));
                    }
                    let (Val::Date(effective), Val::Date(start), Val::Date(end)) = (
                        order("EffectiveDate"),
                        of_contract("StartDate"),
                        of_contract("EndDate"),
                    ) else {
                        panic!("order {o} or its contract has no dates");
                    };
                    assert!((start..=end).contains(&effective), "order {o}");
                }
                assert_eq!(order("StatusCode"), order("Status"));
                let book = order("Pricebook2Id");
                let mut total = 0.0;
                for item in 0..org.count(Generated::OrderItem) {
                    if value(&org, Generated::OrderItem, item, "OrderId") != order("Id") {
                        continue;
                    }
                    items += 1;
                    sold_from(&org, Generated::OrderItem, item, &book, &currency);
                    let line = |field| number(&org, Generated::OrderItem, item, field);
                    assert!(
                        (line("TotalPrice") - line("UnitPrice") * line("Quantity")).abs() <= 0.5
                    );
                    total += line("TotalPrice");
                }
                assert!((number(&org, Generated::Order, o, "TotalAmount") - total).abs() < 0.01);
            }
            assert!(under_contract > 0);
            assert!(under_contract < org.count(Generated::Order));
            assert_eq!(items, org.count(Generated::OrderItem));
        }
    }

    #[test]
    fn quotes_take_their_opportunitys_price_book_currency_and_account() {
        for org in orgs() {
            for q in 0..org.count(Generated::Quote) {
                let quote = |field| value(&org, Generated::Quote, q, field);
                let o = id_index(&org, Generated::Opportunity, &quote("OpportunityId"));
                let of_opportunity = |field| value(&org, Generated::Opportunity, o, field);
                assert!(!org.is_deleted(Generated::Opportunity, o));
                assert_ne!(quote("Pricebook2Id"), Val::Null);
                assert_eq!(quote("Pricebook2Id"), of_opportunity("Pricebook2Id"));
                assert_eq!(quote("AccountId"), of_opportunity("AccountId"));
                assert_eq!(quote("CurrencyIsoCode"), of_opportunity("CurrencyIsoCode"));
                let (mut subtotal, mut total) = (0.0, 0.0);
                for line in [2 * q, 2 * q + 1] {
                    assert_eq!(
                        value(&org, Generated::QuoteLineItem, line, "QuoteId"),
                        quote("Id")
                    );
                    sold_from(
                        &org,
                        Generated::QuoteLineItem,
                        line,
                        &quote("Pricebook2Id"),
                        &quote("CurrencyIsoCode"),
                    );
                    let n = |field| number(&org, Generated::QuoteLineItem, line, field);
                    assert!((n("Subtotal") - n("UnitPrice") * n("Quantity")).abs() <= 0.5);
                    let expected = n("Subtotal") * (1.0 - n("Discount") / 100.0);
                    assert!((n("TotalPrice") - expected).abs() <= 0.5, "line {line}");
                    subtotal += n("Subtotal");
                    total += n("TotalPrice");
                }
                assert!((number(&org, Generated::Quote, q, "Subtotal") - subtotal).abs() < 0.01);
                assert!((number(&org, Generated::Quote, q, "TotalPrice") - total).abs() < 0.01);
                assert_eq!(quote("GrandTotal"), quote("TotalPrice"));
            }
        }
    }

    #[test]
    fn assets_form_a_hierarchy_under_one_root_account_and_currency() {
        for org in orgs() {
            let mut children = 0;
            for a in 0..org.count(Generated::Asset) {
                let asset = |field| value(&org, Generated::Asset, a, field);
                let root = id_index(&org, Generated::Asset, &asset("RootAssetId"));
                let account = asset("AccountId");
                let a_account = id_index(&org, Generated::Account, &account);
                assert!(!org.is_person_account(a_account));
                match asset("ParentId") {
                    Val::Null => assert_eq!(root, a, "a root is its own root"),
                    parent => {
                        children += 1;
                        let p = id_index(&org, Generated::Asset, &parent);
                        assert!(p < a, "parents come first");
                        let of_parent = |field| value(&org, Generated::Asset, p, field);
                        assert_eq!(of_parent("RootAssetId"), asset("RootAssetId"));
                        assert_eq!(of_parent("AccountId"), account);
                        assert_eq!(of_parent("CurrencyIsoCode"), asset("CurrencyIsoCode"));
                    }
                }
                let product = id_index(&org, Generated::Product2, &asset("Product2Id"));
                assert_eq!(
                    value(&org, Generated::Product2, product, "IsActive"),
                    Val::Bool(true)
                );
            }
            assert!(children > 0);
        }
    }
}
