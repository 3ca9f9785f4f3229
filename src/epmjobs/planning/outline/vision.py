"""The outline of the demo application "Vision" (reference planning-model §7.2).

Cubes Plan1, Plan2, Plan3 (BSO) and Vis1ASO (ASO); dimensions Account (a P&L and balance
sheet of a few hundred accounts, drivers, exchange rates), Entity (~50, with base
currencies), Period, Years, Scenario, Version, Currency and Product (~30, with an alternate
hierarchy of shared members). The members go in through the metadata loader, so the demo is
also a realistic load: inheritance, shared members and per-cube validity included.
"""

from __future__ import annotations

from epmjobs.planning.application import Cube, CubeKind
from epmjobs.planning.outline.load import load_records
from epmjobs.planning.outline.outline import Outline
from epmjobs.planning.outline.vocabulary import Density, DimensionType

CUBES = (Cube("Plan1", CubeKind.BSO), Cube("Plan2", CubeKind.BSO), Cube("Plan3", CubeKind.BSO),
         Cube("Vis1ASO", CubeKind.ASO))
_ALL = ("Plan1", "Plan2", "Plan3", "Vis1ASO")
_D, _S = Density.DENSE, Density.SPARSE

# (dimension, type, cubes it is valid in, density)
DIMENSIONS = (
    ("Account", DimensionType.ACCOUNT, _ALL, _D),
    ("Period", DimensionType.PERIOD, _ALL, _D),
    ("Years", DimensionType.YEARS, _ALL, _S),
    ("Scenario", DimensionType.SCENARIO, _ALL, _S),
    ("Version", DimensionType.VERSION, _ALL, _S),
    ("Currency", DimensionType.CURRENCY, _ALL, _S),
    ("Entity", DimensionType.ENTITY, _ALL, _S),
    ("Product", DimensionType.CUSTOM, ("Plan1", "Plan2", "Vis1ASO"), _S),
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_VALID = [f"Plan Type ({c})" for c in _ALL]
_AGG = [f"Aggregation ({c})" for c in _ALL]
_HEADER = ["Parent", "Alias: Default", "Data Storage", "Formula", "UDA", *_VALID, *_AGG]

# Account groups: (parent, name, alias, account type, operator, detail (code, alias) pairs)
_REVENUE = [("Hardware Sales", ["Laptops", "Desktops", "Servers", "Storage", "Networking",
                                "Monitors", "Printers", "Accessories"]),
            ("Software Sales", ["Licenses", "Subscriptions", "Maintenance", "Cloud Services",
                                "Upgrades", "Add-ons"]),
            ("Services Revenue", ["Consulting", "Implementation", "Training", "Support",
                                  "Managed Services", "Installation"]),
            ("Other Revenue", ["Interest Income", "Royalties", "Rental Income", "Gain on Sale"])]
_COST = [("Product Costs", ["Materials", "Components", "Freight In", "Duties", "Packaging",
                            "Warranty", "Scrap", "Inventory Adjustments"]),
         ("Service Costs", ["Subcontractors", "Field Labor", "Parts", "Hosting", "Licenses Cost"])]
_OPEX = [("Compensation", ["Salaries", "Overtime", "Bonus", "Commissions", "Benefits",
                           "Payroll Taxes", "Pension", "Stock Compensation", "Temporary Staff",
                           "Severance"]),
         ("Travel and Entertainment", ["Airfare", "Lodging", "Meals", "Ground Transport",
                                       "Per Diem", "Entertainment", "Conferences"]),
         ("Facilities", ["Rent", "Utilities", "Maintenance and Repairs", "Security",
                         "Janitorial", "Property Taxes", "Insurance"]),
         ("Marketing", ["Advertising", "Events", "Sponsorships", "Digital Marketing",
                        "Market Research", "Public Relations", "Collateral"]),
         ("Information Technology", ["Hardware Maintenance", "Software Licenses",
                                     "Telecommunications", "Cloud Hosting", "IT Consulting",
                                     "Data Services"]),
         ("Professional Fees", ["Legal Fees", "Audit Fees", "Tax Advisory", "Consulting Fees",
                                "Recruiting Fees"]),
         ("Depreciation and Amortization", ["Depreciation Buildings",
                                            "Depreciation Equipment",
                                            "Depreciation Vehicles", "Amortization Software",
                                            "Amortization Intangibles"]),
         ("Research and Development", ["Engineering Salaries", "Prototypes", "Lab Supplies",
                                       "Patents", "Testing", "Research Grants",
                                       "Design Software", "Certification"]),
         ("Logistics", ["Outbound Freight", "Warehousing", "Fleet Fuel", "Fleet Leases",
                        "Customs Brokerage", "Distribution Centers"]),
         ("General and Administrative", ["Office Supplies", "Postage", "Bank Charges",
                                         "Dues and Subscriptions", "Training Expense",
                                         "Bad Debt", "Miscellaneous Expense"])]
_ASSETS = [("Cash and Equivalents", ["Operating Cash", "Payroll Cash", "Petty Cash",
                                     "Money Market", "Short Term Investments"]),
           ("Accounts Receivable", ["Trade Receivables", "Intercompany Receivables",
                                    "Allowance for Doubtful Accounts", "Other Receivables"]),
           ("Inventory", ["Raw Materials", "Work in Process", "Finished Goods",
                          "Inventory Reserve"]),
           ("Prepaid Expenses", ["Prepaid Rent", "Prepaid Insurance", "Prepaid Software"]),
           ("Fixed Assets", ["Land", "Buildings", "Machinery", "Vehicles", "Computer Equipment",
                             "Furniture", "Leasehold Improvements", "Accumulated Depreciation"]),
           ("Intangible Assets", ["Goodwill", "Trademarks", "Customer Lists",
                                  "Capitalized Software", "Accumulated Amortization"]),
           ("Other Assets", ["Deposits", "Deferred Tax Assets", "Notes Receivable",
                             "Long Term Investments"])]
_LIABILITIES = [("Current Liabilities", ["Accounts Payable", "Accrued Salaries",
                                         "Accrued Expenses", "Deferred Revenue",
                                         "Income Taxes Payable", "Sales Tax Payable",
                                         "Short Term Debt"]),
                ("Long Term Liabilities", ["Long Term Debt", "Lease Liabilities",
                                           "Pension Obligations", "Deferred Taxes"]),
                ("Other Liabilities", ["Customer Deposits", "Asset Retirement Obligations",
                                       "Litigation Reserves", "Environmental Reserves"])]
_EQUITY = ["Common Stock", "Additional Paid in Capital", "Retained Earnings", "Treasury Stock",
           "Other Comprehensive Income"]
_OTHER = [("Other Income and Expense", ["Interest Expense", "Foreign Exchange Gain Loss",
                                        "Investment Income", "Loss on Disposal",
                                        "Restructuring", "Impairment"])]
_DRIVERS = ["Units", "Price", "Headcount", "Average Salary", "Growth Rate", "Bonus Rate",
            "Benefits Rate", "Payroll Tax Rate", "Commission Rate", "Days Sales Outstanding",
            "Days Payables Outstanding", "Inventory Turns", "Square Feet", "Rent per Square Foot",
            "Tax Rate", "Discount Rate", "Working Days", "Utilization", "Billing Rate",
            "Attrition Rate", "Merit Increase", "Hiring Plan", "Capex Budget", "Useful Life",
            "Market Share", "Churn Rate"]
_RATES = ["Average Rate", "Ending Rate", "Historical Rate"]


def vision_outline() -> Outline:
    """A fresh outline of the Vision demo application."""
    outline = Outline(CUBES)
    for name, kind, cubes, density in DIMENSIONS:
        outline.add_dimension(name, kind, {c: density for c in cubes})
    for dimension, header, rows in (_accounts(), _periods(), _years(), _scenarios(),
                                    _versions(), _currencies(), _entities(), _products()):
        result = load_records(outline, [dimension, *header], rows)
        assert not result.result.rejections, result.result.rejections[:3]
        outline = result.outline
    return outline


def _row(name: str, parent: str, alias: str = "", storage: str = "", formula: str = "",
         uda: str = "", valid: tuple[str, ...] = (), op: str = "+") -> list[str]:
    flags = [("true" if c in valid else "false") if valid else "" for c in _ALL]
    return [name, parent, alias, storage, formula, uda, *flags, *([op] * len(_ALL))]


def _accounts() -> tuple[str, list[str], list[list[str]]]:
    header = [*_HEADER, "Account Type", "Time Balance", "Source Plan Type", "Data Type"]
    rows: list[list[str]] = []

    def add(name: str, parent: str, kind: str = "", op: str = "+", storage: str = "",
            formula: str = "", valid: tuple[str, ...] = (), tb: str = "",
            data_type: str = "Currency", alias: str = "") -> None:
        rows.append([*_row(name, parent, alias, storage, formula, "HSP_NOLINK", valid, op),
                     kind, tb, "Plan1" if parent == "Account" else "", data_type])

    def group(parent: str, groups: list[tuple[str, list[str]]], code: int, kind: str,
              op: str = "+") -> None:
        for g, (name, details) in enumerate(groups):
            add(name, parent, kind, op, "Dynamic Calc")
            for d, detail in enumerate(details):
                number = str(code + 100 * g + 10 * (d + 1))
                add(number, name, alias=f"{number} {detail}", storage="Store")

    add("Net Income", "Account", "Revenue", storage="Dynamic Calc", valid=_ALL)
    add("Gross Margin", "Net Income", "Revenue", storage="Dynamic Calc")
    add("Total Revenue", "Gross Margin", "Revenue", storage="Dynamic Calc")
    group("Total Revenue", _REVENUE, 4000, "Revenue")
    add("Cost of Sales", "Gross Margin", "Expense", "-", "Dynamic Calc")
    group("Cost of Sales", _COST, 5000, "Expense")
    add("Operating Expenses", "Net Income", "Expense", "-", "Dynamic Calc")
    group("Operating Expenses", _OPEX, 6000, "Expense")
    group("Net Income", _OTHER, 7000, "Expense", "-")
    add("Income Taxes", "Net Income", "Expense", "-", "Store")
    add("Gross Margin Pct", "Account", "Revenue", "~", "Dynamic Calc",
        '"Gross Margin" / "Total Revenue" * 100;', _ALL, data_type="Percentage")
    add("Balance Sheet", "Account", "Asset", "~", "Dynamic Calc", valid=("Plan1", "Plan3"))
    add("Total Assets", "Balance Sheet", "Asset", storage="Dynamic Calc")
    group("Total Assets", _ASSETS, 1000, "Asset")
    add("Total Liabilities and Equity", "Balance Sheet", "Liability", "~", "Dynamic Calc")
    add("Total Liabilities", "Total Liabilities and Equity", "Liability", storage="Dynamic Calc")
    group("Total Liabilities", _LIABILITIES, 2000, "Liability")
    group("Total Liabilities and Equity", [("Total Equity", _EQUITY)], 3000, "Equity")
    add("Drivers", "Account", "Saved Assumption", "~", "Label Only", valid=_ALL, tb="Balance",
        data_type="Non-Currency")
    for driver in _DRIVERS:
        add(driver, "Drivers", op="~", storage="Store")
    add("Exchange Rates", "Account", "Saved Assumption", "~", "Label Only",
        valid=("Plan1", "Plan2", "Plan3"), tb="Average", data_type="Non-Currency")
    for rate in _RATES:
        add(rate, "Exchange Rates", op="~", storage="Store",
            tb="Balance" if rate != "Average Rate" else "")
    return "Account", header, rows


def _periods() -> tuple[str, list[str], list[list[str]]]:
    rows = [_row("BegBalance", "Period", "Beginning Balance", "Store", op="~"),
            _row("YearTotal", "Period", "Year Total", "Dynamic Calc")]
    for q in range(4):
        rows.append(_row(f"Q{q + 1}", "YearTotal", f"Quarter {q + 1}", "Dynamic Calc"))
        rows += [_row(m, f"Q{q + 1}", storage="Store") for m in MONTHS[3 * q:3 * q + 3]]
    return "Period", _HEADER, rows


def _years() -> tuple[str, list[str], list[list[str]]]:
    rows = [_row(f"FY{y}", "Years", f"20{y}", op="~") for y in range(23, 28)]
    return "Years", _HEADER, [*rows, _row("No Year", "Years", op="~")]


def _scenarios() -> tuple[str, list[str], list[list[str]]]:
    header = [*_HEADER, "Start Year", "Start Period", "End Year", "End Period"]
    spans = {"Actual": ("FY23", "FY25"), "Plan": ("FY26", "FY27"), "Forecast": ("FY25", "FY26")}
    rows = [[*_row(s, "Scenario", op="~"), start, "Jan", end, "Dec"]
            for s, (start, end) in spans.items()]
    return "Scenario", header, rows


def _versions() -> tuple[str, list[str], list[list[str]]]:
    return "Version", _HEADER, [_row("Working", "Version", op="~"),
                                _row("Final", "Version", op="~")]


def _currencies() -> tuple[str, list[str], list[list[str]]]:
    names = {"USD": "US Dollar", "EUR": "Euro", "GBP": "British Pound", "Local": "Local"}
    return "Currency", _HEADER, [_row(c, "Currency", a, op="~") for c, a in names.items()]


_REGIONS = {
    "North America": ("USD", ["United States", "Canada", "Mexico"]),
    "EMEA": ("EUR", ["Germany", "France", "United Kingdom", "Italy", "Spain"]),
    "APAC": ("USD", ["Japan", "Australia", "Singapore", "India"]),
}
_UNITS = ("Sales", "Operations", "Corporate")


def _entities() -> tuple[str, list[str], list[list[str]]]:
    header = [*_HEADER, "Base Currency"]
    rows = [[*_row("Total Entity", "Entity", "Total Company"), "USD"]]
    code = 100
    for region, (currency, countries) in _REGIONS.items():
        rows.append([*_row(region, "Total Entity"), currency])
        for country in countries:
            local = "GBP" if country == "United Kingdom" else ""
            rows.append([*_row(country, region), local])
            for unit in _UNITS:
                code += 10
                rows.append([*_row(f"E{code}", country, f"{country} {unit}", "Store"), ""])
    return "Entity", header, rows


_PRODUCTS = {
    "Hardware": {"Computers": ["Laptop Pro", "Laptop Air", "Desktop Tower", "Workstation"],
                 "Peripherals": ["Monitor 27", "Keyboard", "Mouse", "Docking Station"],
                 "Infrastructure": ["Rack Server", "Blade Server", "Storage Array",
                                    "Network Switch"]},
    "Software": {"Applications": ["Office Suite", "Analytics", "Security Suite"],
                 "Platforms": ["Database", "Middleware"]},
    "Services": {"Professional": ["Consulting Days", "Training Days"],
                 "Support": ["Premium Support", "Standard Support"]},
}


def _products() -> tuple[str, list[str], list[list[str]]]:
    rows = [_row("Total Product", "Product", "All Products")]
    code = 0
    for family, lines in _PRODUCTS.items():
        rows.append(_row(family, "Total Product"))
        for line, items in lines.items():
            rows.append(_row(line, family))
            for item in items:
                code += 10
                rows.append(_row(f"P{code:03d}", line, item, "Store"))
    rows.append(_row("No Product", "Product", op="~"))
    rows.append(_row("Top Sellers", "Product", "Top Sellers", "Dynamic Calc", op="~"))
    rows += [_row(p, "Top Sellers", storage="Shared") for p in ("P010", "P090", "P150")]
    return "Product", _HEADER, rows
