//! The demo branch: realistic data made through the command table itself,
//! so it exercises the same rules as the staff's own work.

use serde_json::{json, Value};

use crate::api::Api;
use crate::error::{Error, Result};

/// The PIN of every demo staff member.
pub const DEMO_PIN: &str = "1234";

/// (code, name, role, hourly rate in cents)
pub const DEMO_STAFF: &[(&str, &str, &str, i64)] = &[
    ("owner", "Olivia Owner", "owner", 0),
    ("manager", "Marcus Manager", "manager", 0),
    ("desk", "Dana Desk", "front_desk", 0),
    ("tech1", "Tomasz Łukasiewicz", "technician", 9500),
    ("tech2", "Ingrid Ødegård", "technician", 8800),
];

/// What the demo made, for printing.
#[derive(Debug, serde::Serialize, ts_rs::TS)]
pub struct DemoSummary {
    pub staff: Vec<(String, String)>,
    pub pin: &'static str,
    pub bays: usize,
    pub service_types: usize,
    pub parts: usize,
    pub customers: usize,
    pub vehicles: usize,
    pub appointments: usize,
    pub open_job_cards: usize,
    pub in_progress_job_cards: usize,
    pub completed_job_cards: usize,
}

struct Workshop {
    appointments: usize,
    open: usize,
    in_progress: usize,
    completed: usize,
}

/// The workshop's week: finished jobs with invoices and service history,
/// cars on the lifts, cars checked in, and appointments from today on.
fn workshop(
    api: &Api,
    owner: Option<&str>,
    fleet: &[(Value, Value, i64)],
    part: &dyn Fn(&str) -> String,
) -> Result<Workshop> {
    let desk = api.login("desk", DEMO_PIN)?;
    let techs = [api.login("tech1", DEMO_PIN)?, api.login("tech2", DEMO_PIN)?];
    let tech_ids: Vec<Value> = techs
        .iter()
        .map(|t| ok(api, Some(t), "auth.whoami", json!({})).map(|w| w["staff_id"].clone()))
        .collect::<Result<_>>()?;
    let d = Some(desk.as_str());
    let mut w = Workshop { appointments: 0, open: 0, in_progress: 0, completed: 0 };
    // (complaint, labour hours in thousandths, parts as (sku, quantity))
    type Job = (&'static str, i64, &'static [(&'static str, i64)]);
    let jobs: &[Job] = &[
        ("Brake pads worn, squeal when stopping", 1500, &[("BP-F300", 1000), ("CC-1810", 1000)]),
        ("Annual service", 1000, &[("OF-100", 1000), ("OIL-5W30", 4500), ("AF-200", 1000), ("DP-1820", 1000)]),
        ("Battery flat in the mornings", 500, &[("BAT-600", 1000)]),
        ("Headlight out", 250, &[("HB-900", 2000)]),
        ("Wipers smearing", 250, &[("WB-400", 1000), ("WB-410", 1000)]),
        ("Coolant warning light", 750, &[("CL-700", 3000), ("RH-1420", 1000)]),
    ];
    // Finished work: twelve cars, invoiced and in their service history.
    for (n, (customer, vehicle, odometer)) in fleet.iter().take(14).enumerate() {
        let (complaint, hours, parts) = jobs[n % jobs.len()];
        let card = ok(
            api,
            d,
            "job_cards.create",
            json!({ "customer_id": customer, "vehicle_id": vehicle, "complaint": complaint, "odometer_in": odometer + 120 }),
        )?;
        let tech = &techs[n % 2];
        let t = Some(tech.as_str());
        if n >= 12 {
            w.open += 1; // waiting for a technician
            continue;
        }
        ok(api, t, "job_cards.start", json!({ "job_card_id": card["id"], "technician_id": tech_ids[n % 2] }))?;
        ok(
            api,
            t,
            "job_cards.add_line",
            json!({ "job_card_id": card["id"], "kind": "labour", "description": complaint, "quantity": hours }),
        )?;
        for (sku, qty) in parts {
            ok(
                api,
                t,
                "job_cards.add_line",
                json!({ "job_card_id": card["id"], "kind": "part", "item_id": part(sku), "quantity": qty }),
            )?;
        }
        if n >= 9 {
            w.in_progress += 1; // still on the lift
            continue;
        }
        let done = ok(
            api,
            t,
            "job_cards.complete",
            json!({ "job_card_id": card["id"], "invoice_data": { "notes": "Thank you!" } }),
        )?;
        w.completed += 1;
        // Most customers pay at the counter; some pay part now, some later.
        let total = done["invoice"]["total"].as_i64().unwrap_or(0);
        let (amount, method) = match n % 3 {
            0 => (total, "cash"),
            1 => (total / 2, "bank_transfer"),
            _ => (0, "cash"),
        };
        if amount > 0 {
            ok(
                api,
                d,
                "payments.process",
                json!({ "invoice_id": done["invoice"]["id"], "amount": amount, "method": method,
                                                    "idempotency_key": format!("demo-{n}") }),
            )?;
        }
    }
    // Appointments from today on, at the first free times, some confirmed.
    let services =
        ["oil_change", "brake_service", "tire_rotation", "diagnostics", "wheel_alignment", "battery_replacement"];
    let settings = ok(api, owner, "settings.get", json!({}))?;
    let tz: chrono_tz::Tz = settings["branch"]["time_zone"].as_str().unwrap_or("UTC").parse().unwrap_or(chrono_tz::UTC);
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let mut next_vehicle = 20;
    for day in 0..7u64 {
        let Some(date) = today.checked_add_days(chrono::Days::new(day)) else { break };
        let date = date.format("%Y-%m-%d").to_string();
        for (k, service) in services.iter().enumerate() {
            let free = ok(api, d, "appointments.availability", json!({ "date": date, "service_type": service }))?;
            let Some(slot) = free["free"].as_array().and_then(|f| f.get((k * 7) % f.len().max(1))).cloned() else {
                continue;
            };
            let (customer, vehicle, _) = &fleet[next_vehicle % fleet.len()];
            next_vehicle += 1;
            let booked = api.call_value(d, "appointments.book", &json!({
                "customer_id": customer, "vehicle_id": vehicle, "scheduled_date": slot["date"], "scheduled_time": slot["time"],
                "service_type": service, "bay_id": slot["bay_id"],
            }));
            let Some(booked) = booked.data() else { continue };
            w.appointments += 1;
            let id = &booked["appointment"]["id"];
            if k % 2 == 0 {
                ok(api, d, "appointments.confirm", json!({ "appointment_id": id }))?;
            }
            if day == 0 && k < 2 {
                ok(api, d, "appointments.check_in", json!({ "appointment_id": id }))?;
                w.open += 1;
            }
        }
    }
    Ok(w)
}

/// A small deterministic generator: the demo is the same every time.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[(self.next() as usize) % xs.len()]
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() as i64) % (hi - lo + 1)
    }
}

fn ok(api: &Api, token: Option<&str>, command: &str, input: Value) -> Result<Value> {
    let env = api.call_value(token, command, &input);
    env.data().cloned().ok_or_else(|| Error::Internal(format!("demo step {command} failed: {}", env.to_json())))
}

const FIRST: &[&str] = &[
    "John",
    "Maria",
    "James",
    "Aisha",
    "Liam",
    "Sofia",
    "Noah",
    "Emma",
    "Mateo",
    "Olivia",
    "Lukas",
    "Zoë",
    "Hiroshi",
    "Priya",
    "Kwame",
    "Chloé",
    "Björn",
    "Ana",
    "Dmitri",
    "Fatima",
    "Jörg",
    "Elena",
    "Sean",
    "Mei",
    "Carlos",
    "Grace",
    "Ольга",
    "Νίκος",
    "Łucja",
    "Søren",
];
const LAST: &[&str] = &[
    "Smith",
    "Garcia",
    "Johnson",
    "Khan",
    "Müller",
    "Rossi",
    "Nguyen",
    "Brown",
    "Kowalski",
    "Dubois",
    "Okafor",
    "Tanaka",
    "Andersson",
    "Silva",
    "Patel",
    "O'Brien",
    "Schmidt",
    "Novak",
    "Ivanova",
    "Papadopoulos",
    "Jensen",
    "Fernández",
    "Walker",
    "Chen",
    "Hughes",
    "Иванов",
    "Παπαδάκης",
    "Wójcik",
    "Østergård",
    "Lefèvre",
];
const CARS: &[(&str, &[&str])] = &[
    ("Toyota", &["Camry", "Corolla", "RAV4", "Prius", "Hilux"]),
    ("Ford", &["F-150", "Focus", "Escape", "Transit", "Mustang"]),
    ("Honda", &["Civic", "Accord", "CR-V", "Jazz"]),
    ("Volkswagen", &["Golf", "Passat", "Tiguan", "Polo"]),
    ("BMW", &["320d", "X3", "530i"]),
    ("Tesla", &["Model 3", "Model Y"]),
    ("Hyundai", &["i30", "Tucson", "Kona"]),
    ("Subaru", &["Outback", "Forester", "Impreza"]),
];
const STREETS: &[&str] = &["Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Elm St", "Park Rd", "Lake View", "Hill St"];

/// (sku, name, unit, on hand, reorder level, cost, price) – quantities in the unit.
const PARTS: &[(&str, &str, &str, i64, i64, i64, i64)] = &[
    ("OF-100", "Oil Filter", "pcs", 24, 8, 450, 1299),
    ("OIL-5W30", "Engine Oil 5W-30", "l", 120, 40, 520, 1150),
    ("OIL-0W20", "Engine Oil 0W-20", "l", 60, 30, 610, 1350),
    ("AF-200", "Air Filter", "pcs", 18, 6, 700, 2199),
    ("CF-210", "Cabin Filter", "pcs", 5, 6, 650, 2499),
    ("FF-220", "Fuel Filter", "pcs", 9, 4, 900, 2899),
    ("BP-F300", "Brake Pads Front", "set", 12, 4, 2800, 7499),
    ("BP-R310", "Brake Pads Rear", "set", 3, 4, 2500, 6999),
    ("BD-F320", "Brake Disc Front", "pcs", 8, 4, 4200, 9999),
    ("BD-R330", "Brake Disc Rear", "pcs", 6, 4, 3900, 9499),
    ("BF-DOT4", "Brake Fluid DOT 4", "l", 14, 5, 800, 1899),
    ("WB-400", "Wiper Blade 22in", "pcs", 30, 10, 600, 1799),
    ("WB-410", "Wiper Blade 18in", "pcs", 22, 10, 550, 1699),
    ("SP-500", "Spark Plug Iridium", "pcs", 64, 16, 700, 1599),
    ("SP-510", "Spark Plug Copper", "pcs", 40, 16, 250, 699),
    ("BAT-600", "Battery 70Ah", "pcs", 4, 3, 9000, 18999),
    ("BAT-610", "Battery 95Ah AGM", "pcs", 2, 2, 14000, 26999),
    ("CL-700", "Coolant 50/50", "l", 40, 10, 400, 999),
    ("WW-710", "Screen Wash", "l", 50, 10, 150, 499),
    ("TB-800", "Timing Belt Kit", "kit", 3, 2, 11000, 24999),
    ("SB-810", "Serpentine Belt", "pcs", 7, 3, 1800, 4599),
    ("HB-900", "Headlight Bulb H7", "pcs", 26, 8, 350, 1299),
    ("HB-910", "Headlight Bulb H4", "pcs", 18, 8, 320, 1199),
    ("TL-920", "Tail Light Bulb", "pcs", 40, 10, 80, 399),
    ("TY-1000", "Tyre 205/55 R16", "pcs", 16, 8, 6500, 11999),
    ("TY-1010", "Tyre 225/45 R17", "pcs", 12, 8, 8200, 14999),
    ("TY-1020", "Tyre 195/65 R15", "pcs", 8, 8, 5400, 9999),
    ("TV-1030", "Tyre Valve", "pcs", 200, 50, 40, 299),
    ("WW-1040", "Wheel Weight 10g", "pcs", 500, 100, 5, 50),
    ("SA-1100", "Shock Absorber Front", "pcs", 4, 2, 6500, 13999),
    ("SA-1110", "Shock Absorber Rear", "pcs", 4, 2, 5800, 12499),
    ("CV-1200", "CV Joint Boot Kit", "kit", 6, 2, 1500, 3999),
    ("TR-1210", "Tie Rod End", "pcs", 5, 2, 2200, 4999),
    ("BJ-1220", "Ball Joint", "pcs", 4, 2, 2600, 5599),
    ("WB-1230", "Wheel Bearing", "pcs", 3, 2, 3800, 8499),
    ("EX-1300", "Exhaust Gasket", "pcs", 12, 4, 300, 999),
    ("EX-1310", "Muffler Clamp", "pcs", 20, 5, 200, 799),
    ("TS-1400", "Thermostat", "pcs", 5, 2, 1800, 3999),
    ("WP-1410", "Water Pump", "pcs", 2, 2, 6400, 13999),
    ("RH-1420", "Radiator Hose Upper", "pcs", 6, 2, 1200, 2999),
    ("AC-1500", "A/C Refrigerant R1234yf", "kg", 8, 3, 9000, 16999),
    ("AC-1510", "A/C Compressor Oil", "l", 3, 1, 2500, 4999),
    ("FU-1600", "Fuse Assortment", "box", 10, 3, 400, 1299),
    ("GL-1610", "Glow Plug", "pcs", 16, 8, 900, 2199),
    ("TF-1700", "Transmission Fluid ATF", "l", 30, 12, 750, 1599),
    ("DF-1710", "Differential Oil 75W-90", "l", 10, 4, 950, 1999),
    ("PS-1720", "Power Steering Fluid", "l", 8, 3, 700, 1499),
    ("GR-1800", "Grease Cartridge", "pcs", 12, 4, 500, 1199),
    ("CC-1810", "Brake Cleaner Spray", "pcs", 36, 12, 300, 899),
    ("DP-1820", "Drain Plug Washer", "pcs", 300, 100, 10, 150),
    ("WS-1900", "Wiper Motor", "pcs", 1, 1, 5200, 11999),
    ("LM-1910", "Lambda Sensor", "pcs", 3, 2, 4800, 10999),
    ("AB-1920", "ABS Sensor", "pcs", 2, 2, 3100, 6999),
];

/// Builds the demo on an empty database. Fails (changing nothing further)
/// if the database is already set up.
pub fn seed(api: &Api) -> Result<DemoSummary> {
    let (owner_code, owner_name, _, _) = DEMO_STAFF[0];
    ok(
        api,
        None,
        "setup.init",
        json!({
            "branch_name": "Pitlane Motors Downtown", "branch_code": "downtown",
            "owner_name": owner_name, "owner_code": owner_code, "owner_pin": DEMO_PIN,
            "time_zone": "America/New_York", "currency": "USD", "country": "US",
            "default_tax_rate_bp": 825, "payment_terms_days": 14, "series_letter": "A",
        }),
    )?;
    let owner = api.login(owner_code, DEMO_PIN)?;
    let t = Some(owner.as_str());

    for (code, name, role, rate) in &DEMO_STAFF[1..] {
        ok(
            api,
            t,
            "staff.create",
            json!({ "code": code, "name": name, "role": role, "pin": DEMO_PIN, "hourly_rate": rate }),
        )?;
    }

    let mut part_ids = std::collections::HashMap::new();
    for (sku, name, unit, on_hand, reorder, cost, price) in PARTS {
        let item = ok(
            api,
            t,
            "inventory.create_item",
            json!({ "sku": sku, "name": name, "unit": unit, "opening_stock": on_hand * 1000,
                    "reorder_level": reorder * 1000, "cost": cost, "price": price, "barcode": format!("0{:011}", part_ids.len() * 7919 + 100003) }),
        )?;
        part_ids.insert(*sku, item["id"].as_str().unwrap_or_default().to_string());
    }
    let part = move |sku: &str| part_ids.get(sku).cloned().unwrap_or_default();

    let weekday = |d: i64| {
        vec![
            json!({ "weekday": d, "opens": "08:00", "closes": "12:00" }),
            json!({ "weekday": d, "opens": "13:00", "closes": "18:00" }),
        ]
    };
    let mut hours: Vec<Value> = (1..=5).flat_map(weekday).collect();
    hours.push(json!({ "weekday": 6, "opens": "09:00", "closes": "13:00" }));
    ok(
        api,
        t,
        "settings.update",
        json!({
            "branch": {
                "address": "1200 Market Street, Philadelphia, PA 19107", "phone": "+1 215 555 0142",
                "email": "service@pitlane-motors.example", "tax_number": "EIN 12-3456789", "labour_rate": 11000,
                "invoice_footer": "Thank you for your business. Payment due within 14 days.", "paper_size": "Letter",
            },
            "opening_hours": hours,
            "closures": [
                { "date": "2026-12-25", "reason": "Christmas Day" },
                { "date": "2026-12-26", "reason": "Stocktake" },
                { "date": "2027-01-01", "reason": "New Year's Day" },
            ],
            "bays": [
                { "name": "Bay 1", "capabilities": ["lift"] },
                { "name": "Bay 2", "capabilities": ["lift"] },
                { "name": "Bay 3", "capabilities": ["lift", "diagnostics"] },
                { "name": "Alignment Bay", "capabilities": ["lift", "alignment"] },
                { "name": "Express Lane", "capabilities": [] },
            ],
            "service_types": [
                { "code": "oil_change", "name": "Oil Change", "duration_minutes": 60, "required_capability": "lift",
                  "lines": [
                    { "kind": "labour", "description": "Oil and filter change", "quantity": 500 },
                    { "kind": "part", "description": "Oil Filter", "quantity": 1000, "item_id": part("OF-100") },
                    { "kind": "part", "description": "Engine Oil 5W-30", "quantity": 4500, "item_id": part("OIL-5W30") },
                    { "kind": "part", "description": "Drain Plug Washer", "quantity": 1000, "item_id": part("DP-1820") },
                  ] },
                { "code": "brake_service", "name": "Brake Service", "duration_minutes": 120, "required_capability": "lift",
                  "lines": [
                    { "kind": "labour", "description": "Replace front brake pads", "quantity": 1500 },
                    { "kind": "part", "description": "Brake Pads Front", "quantity": 1000, "item_id": part("BP-F300") },
                    { "kind": "part", "description": "Brake Cleaner Spray", "quantity": 1000, "item_id": part("CC-1810") },
                  ] },
                { "code": "tire_rotation", "name": "Tire Rotation", "duration_minutes": 45, "required_capability": "lift",
                  "lines": [ { "kind": "labour", "description": "Rotate and balance four tires", "quantity": 750 } ] },
                { "code": "diagnostics", "name": "Diagnostics", "duration_minutes": 60, "required_capability": "diagnostics",
                  "lines": [ { "kind": "fee", "description": "Diagnostic scan", "quantity": 1000, "unit_price": 8900 } ] },
                { "code": "wheel_alignment", "name": "Wheel Alignment", "duration_minutes": 60, "required_capability": "alignment",
                  "lines": [ { "kind": "labour", "description": "Four-wheel alignment", "quantity": 1000 } ] },
                { "code": "battery_replacement", "name": "Battery Replacement", "duration_minutes": 30,
                  "lines": [
                    { "kind": "labour", "description": "Battery test and replacement", "quantity": 500 },
                    { "kind": "part", "description": "Battery 70Ah", "quantity": 1000, "item_id": part("BAT-600") },
                  ] },
            ],
        }),
    )?;

    let mut dice = Dice(20261124);
    let mut fleet: Vec<(Value, Value, i64)> = Vec::new();
    let mut customers = 0;
    let mut vehicles = 0;
    for i in 0..320 {
        let first = dice.pick(FIRST);
        let last = dice.pick(LAST);
        let name = format!("{first} {last}");
        let email = if i % 7 == 3 {
            Value::Null
        } else {
            let local = crate::search::fold(&format!("{first}.{last}"));
            let local = if local.is_ascii() { local } else { format!("customer{i}") };
            json!(format!("{local}{i}@example.com"))
        };
        let phone = format!("+1 (215) {:03}-{:04}", 200 + i / 10, 1000 + i * 7 % 9000);
        let c = ok(
            api,
            t,
            "customers.create",
            json!({ "name": name, "email": email, "phone": phone,
                    "address": format!("{} {}", dice.range(1, 9999), dice.pick(STREETS)),
                    "marketing_consent": i % 3 == 0 }),
        )?;
        customers += 1;
        let n_vehicles = if i % 9 == 0 { 2 } else { 1 };
        for k in 0..n_vehicles {
            let (make, models) = CARS[(dice.next() as usize) % CARS.len()];
            let model = dice.pick(models);
            let letters: String = (0..3).map(|_| (b'A' + (dice.next() % 26) as u8) as char).collect();
            let plate = format!("{letters}-{:04}", i * 3 + k);
            let v = ok(
                api,
                t,
                "vehicles.register",
                json!({ "customer_id": c["id"], "license_plate": plate, "make": make, "model": model,
                        "year": dice.range(2008, 2026), "odometer": dice.range(5_000, 220_000) }),
            )?;
            fleet.push((c["id"].clone(), v["id"].clone(), v["odometer"].as_i64().unwrap_or(0)));
            vehicles += 1;
        }
    }
    let work = workshop(api, t, &fleet, &part)?;
    Ok(DemoSummary {
        appointments: work.appointments,
        open_job_cards: work.open,
        in_progress_job_cards: work.in_progress,
        completed_job_cards: work.completed,
        staff: DEMO_STAFF.iter().map(|(c, n, _, _)| (c.to_string(), n.to_string())).collect(),
        pin: DEMO_PIN,
        bays: 5,
        service_types: 6,
        parts: PARTS.len(),
        customers,
        vehicles,
    })
}
