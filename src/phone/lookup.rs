//! What the simulated network knows about a phone number, as Lookup tells it: the number parsed,
//! validated and formatted by libphonenumber's numbering plans (the `phonenumber` crate), its line
//! type, and the data packages Lookup sells (line type intelligence, caller name, …). A package's
//! answer is twirl's default for the number, with whatever a fixture declared for that number
//! merged over it; twirl's magic numbers give fixed line types. Verify asks the same questions
//! (is it a landline? which carrier?), so both products agree about every number.

use super::magic;
use phonenumber::{country, Mode, PhoneNumber, Type};
use serde_json::{json, Map, Value};

/// The data packages of Lookup v2, as `Fields` names them.
pub const PACKAGES: &[&str] = &[
    "caller_name",
    "sim_swap",
    "call_forwarding",
    "line_status",
    "line_type_intelligence",
    "identity_match",
    "reassigned_number",
    "sms_pumping_risk",
    "phone_number_quality_score",
    "pre_fill",
];

/// `Fields` that name no package: the free formatting and validation is always done.
pub const BASIC_FIELDS: &[&str] = &["validation"];

/// The numbering plan's verdict on a number.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// E.164 when the number could be read, else the input as given.
    pub phone_number: String,
    pub valid: bool,
    /// Twilio's reasons a number is invalid (`TOO_SHORT`, …); empty for a valid number.
    pub validation_errors: Vec<&'static str>,
    /// ISO country (`US`) and calling code (`1`) of a valid number.
    pub country: Option<(String, String)>,
    pub national_format: Option<String>,
    kind: Type,
}

impl Parsed {
    fn invalid(phone_number: String, error: &'static str) -> Parsed {
        Parsed {
            phone_number,
            valid: false,
            validation_errors: vec![error],
            country: None,
            national_format: None,
            kind: Type::Unknown,
        }
    }

    /// The ISO country of a valid number.
    pub fn country_code(&self) -> Option<&str> {
        self.country.as_ref().map(|(iso, _)| iso.as_str())
    }
}

/// Reads `input`: E.164, or national in `country_code` (by default the US, as Lookup does).
pub fn parse(input: &str, country_code: Option<&str>) -> Parsed {
    // An international number carries its country; the crate would misread one given a region
    // whose national prefix its digits happen to start with (+49 1512… read as +49 512…).
    let region = if input.trim_start().starts_with('+') {
        None
    } else {
        match country_code.filter(|c| !c.is_empty()) {
            None => Some(country::Id::US),
            Some(code) => match code.to_ascii_uppercase().parse::<country::Id>() {
                Ok(id) => Some(id),
                Err(_) => return Parsed::invalid(input.to_string(), "INVALID_COUNTRY_CODE"),
            },
        }
    };
    let number = match phonenumber::parse(region, input) {
        Ok(number) => number,
        Err(e) => return Parsed::invalid(input.to_string(), parse_error(&e)),
    };
    let e164 = number.format().mode(Mode::E164).to_string();
    if !number.is_valid() {
        return Parsed::invalid(e164, invalid_reason(&number));
    }
    Parsed {
        country: number
            .country()
            .id()
            .map(|id| (id.as_ref().to_string(), number.code().value().to_string())),
        national_format: Some(number.format().mode(Mode::National).to_string()),
        kind: number.number_type(&phonenumber::metadata::DATABASE),
        phone_number: e164,
        valid: true,
        validation_errors: Vec::new(),
    }
}

fn parse_error(e: &phonenumber::ParseError) -> &'static str {
    use phonenumber::ParseError as E;
    match e {
        E::InvalidCountryCode => "INVALID_COUNTRY_CODE",
        E::TooShortAfterIdd | E::TooShortNsn => "TOO_SHORT",
        E::TooLong => "TOO_LONG",
        E::NoNumber | E::MalformedInteger(_) => "NOT_A_NUMBER",
    }
}

/// Why a number that parses is not valid: its length against the lengths of the plan's number
/// types, else a number of a right length in no assigned range.
fn invalid_reason(number: &PhoneNumber) -> &'static str {
    // The calling code's main country holds the lengths every country sharing it uses.
    let database = &phonenumber::metadata::DATABASE;
    let Some(meta) = database
        .by_code(&number.code().value())
        .and_then(|m| m.into_iter().find(|m| m.is_main_country_for_code()))
    else {
        return "INVALID_COUNTRY_CODE";
    };
    let d = meta.descriptors();
    let mut lengths: Vec<u16> = [
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.personal_number(),
        d.voip(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ]
    .into_iter()
    .flatten()
    .flat_map(|t| t.possible_length().iter().copied())
    .chain(d.general().possible_length().iter().copied())
    .collect();
    lengths.sort_unstable();
    lengths.dedup();
    let length = number.national().to_string().len() as u16;
    match (lengths.first(), lengths.last()) {
        (Some(&min), _) if length < min => "TOO_SHORT",
        (_, Some(&max)) if length > max => "TOO_LONG",
        _ if !lengths.contains(&length) => "INVALID_LENGTH",
        _ => "INVALID_BUT_POSSIBLE",
    }
}

/// The line type Lookup's line type intelligence gives a number: a fixture's declaration, a
/// magic number's, else the numbering plan's. Where the plan cannot tell a landline from a mobile
/// (North America), the number is a mobile, so texts to it are expected to arrive.
pub fn line_type(parsed: &Parsed, declared: Option<&Map<String, Value>>) -> String {
    let declared_type = declared
        .and_then(|d| d.get("line_type_intelligence"))
        .and_then(|p| p.get("type"))
        .and_then(Value::as_str);
    if let Some(kind) = declared_type {
        return kind.to_string();
    }
    if let Some(kind) = magic::line_type(&parsed.phone_number) {
        return kind.to_string();
    }
    plan_line_type(parsed.kind).to_string()
}

fn plan_line_type(kind: Type) -> &'static str {
    match kind {
        Type::FixedLine => "landline",
        Type::Mobile | Type::FixedLineOrMobile => "mobile",
        Type::TollFree => "tollFree",
        Type::PremiumRate => "premium",
        Type::SharedCost => "sharedCost",
        Type::PersonalNumber => "personal",
        Type::Voip => "nonFixedVoip",
        Type::Pager => "pager",
        Type::Uan => "uan",
        Type::Voicemail => "voicemail",
        _ => "unknown",
    }
}

/// The simulated carrier of a line type: a mobile is on ITU's test network (MCC 001, MNC 01);
/// Twilio gives no carrier for the types that have none.
fn carrier(line_type: &str) -> (Value, Value, Value) {
    match line_type {
        "mobile" => (json!("twirl Mobile"), json!("001"), json!("01")),
        "landline" => (json!("twirl Landline"), Value::Null, Value::Null),
        "fixedVoip" | "nonFixedVoip" => (json!("twirl VoIP"), Value::Null, Value::Null),
        _ => (Value::Null, Value::Null, Value::Null),
    }
}

/// What a lookup request adds to the number: the parameters some packages echo.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub last_verified_date: Option<String>,
}

/// A package's answer for a valid number: twirl's default, with the fixture's declaration for
/// this number merged over it key by key.
pub fn package(name: &str, parsed: &Parsed, declared: Option<&Map<String, Value>>, inputs: &Inputs) -> Value {
    let line_type = line_type(parsed, declared);
    let (carrier_name, mcc, mnc) = carrier(&line_type);
    let mut value = match name {
        "line_type_intelligence" => json!({
            "mobile_country_code": mcc, "mobile_network_code": mnc, "carrier_name": carrier_name,
            "type": line_type, "error_code": null,
        }),
        "caller_name" => json!({"caller_name": null, "caller_type": null, "error_code": null}),
        "sim_swap" => json!({
            "last_sim_swap": {"last_sim_swap_date": null, "swapped_period": "PT24H", "swapped_in_period": false},
            "carrier_name": carrier_name, "mobile_country_code": mcc, "mobile_network_code": mnc, "error_code": null,
        }),
        "call_forwarding" => json!({"call_forwarding_enabled": false, "error_code": null}),
        "line_status" => json!({"status": "active", "error_code": null}),
        "identity_match" => json!({
            "first_name_match": "no_data_available", "last_name_match": "no_data_available",
            "address_lines_match": "no_data_available", "city_match": "no_data_available",
            "state_match": "no_data_available", "postal_code_match": "no_data_available",
            "address_country_match": "no_data_available", "national_id_match": "no_data_available",
            "date_of_birth_match": "no_data_available", "summary_score": 0, "error_code": null, "error_message": null,
        }),
        "reassigned_number" => json!({
            "last_verified_date": inputs.last_verified_date, "is_number_reassigned": "no_data_available",
            "error_code": null,
        }),
        "sms_pumping_risk" => json!({
            "carrier_risk_category": "low", "number_blocked": false, "number_blocked_date": null,
            "number_blocked_last_3_months": false, "sms_pumping_risk_score": 0, "error_code": null,
        }),
        "phone_number_quality_score" => json!({
            "carrier_risk_score": 0, "carrier_risk_category": "low", "disposable_phone_risk_score": 0,
            "disposable_phone_risk_category": "low", "quality_score": 0, "quality_category": "low",
            "velocity_risk_score": 0, "velocity_risk_category": "low", "error_code": null,
        }),
        "pre_fill" => json!({
            "first_name": null, "last_name": null, "address_line": null, "country_code": parsed.country_code(),
            "state": null, "postal_code": null, "error_code": null,
        }),
        _ => Value::Null,
    };
    if let (Some(object), Some(Value::Object(overrides))) = (value.as_object_mut(), declared.and_then(|d| d.get(name)))
    {
        for (key, v) in overrides {
            object.insert(key.clone(), v.clone());
        }
    }
    value
}

/// The carrier as Verify reports it in a verification's `lookup` (Lookup v1's shape).
pub fn verify_carrier(parsed: &Parsed, declared: Option<&Map<String, Value>>) -> Value {
    let lti = package("line_type_intelligence", parsed, declared, &Inputs::default());
    let kind = match lti["type"].as_str() {
        Some("fixedVoip" | "nonFixedVoip") => "voip",
        Some(other) => other,
        None => "unknown",
    };
    json!({
        "carrier": {
            "error_code": null,
            "name": lti["carrier_name"],
            "mobile_country_code": lti["mobile_country_code"],
            "mobile_network_code": lti["mobile_network_code"],
            "type": kind,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_and_national_numbers_are_formatted() {
        let us = parse("+14159929960", None);
        assert!(us.valid, "{us:?}");
        assert_eq!(us.phone_number, "+14159929960");
        assert_eq!(us.country, Some(("US".into(), "1".into())));
        assert_eq!(us.national_format.as_deref(), Some("(415) 992-9960"));
        let national = parse("(415) 992-9960", None);
        assert_eq!(national.phone_number, "+14159929960");
        let gb = parse("07400 123456", Some("gb"));
        assert!(gb.valid, "{gb:?}");
        assert_eq!(gb.phone_number, "+447400123456");
        assert_eq!(gb.national_format.as_deref(), Some("07400 123456"));
        assert_eq!(line_type(&gb, None), "mobile");
        assert_eq!(line_type(&parse("+442079460958", None), None), "landline");
        assert_eq!(line_type(&parse("+18005550199", None), None), "tollFree");
        assert_eq!(parse("+4915123456789", Some("US")).phone_number, "+4915123456789");
    }

    #[test]
    fn invalid_numbers_say_why() {
        let too_long = parse("+141599299600", None);
        assert!(!too_long.valid);
        assert_eq!(too_long.validation_errors, ["TOO_LONG"]);
        assert_eq!(too_long.country, None);
        assert_eq!(parse("+1415", None).validation_errors, ["TOO_SHORT"]);
        assert_eq!(parse("hello", None).validation_errors, ["NOT_A_NUMBER"]);
        assert_eq!(parse("+999123456789", None).validation_errors, ["INVALID_COUNTRY_CODE"]);
        assert_eq!(
            parse("4155550100", Some("XX")).validation_errors,
            ["INVALID_COUNTRY_CODE"]
        );
    }

    #[test]
    fn declarations_and_magic_numbers_decide_the_line_type() {
        let handset = parse("+14155550100", None);
        assert_eq!(line_type(&handset, None), "mobile");
        assert_eq!(line_type(&parse("+15005550012", None), None), "landline");
        let declared: Map<String, Value> =
            serde_json::from_value(json!({"line_type_intelligence": {"type": "landline", "carrier_name": "Acme"}}))
                .expect("map");
        let lti = package("line_type_intelligence", &handset, Some(&declared), &Inputs::default());
        assert_eq!(
            (lti["type"].clone(), lti["carrier_name"].clone()),
            (json!("landline"), json!("Acme"))
        );
        assert_eq!(verify_carrier(&handset, Some(&declared))["carrier"]["type"], "landline");
    }
}
