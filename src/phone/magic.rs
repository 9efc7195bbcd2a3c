//! Magic numbers: the test numbers Twilio documents for its test credentials, which give the same
//! errors here with any credentials, and twirl's own handset numbers whose deliveries and calls
//! end badly, so failure paths can be tested. Every entry is listed in the README.

/// An API error a magic number causes: Twilio's code and message.
pub type Refusal = (u32, &'static str);

/// The handset `twirl sms`, `twirl call` and the console act as unless told otherwise; never
/// given out as one of the account's numbers.
pub const DEFAULT_HANDSET: &str = "+14155550100";

/// Twilio's always-valid sender for texts and calls (`From`).
pub const VALID_FROM: &str = "+15005550006";

/// What a magic `From` does to a new message; `None` when the number is not magic.
pub fn message_from(from: &str) -> Option<Result<(), Refusal>> {
    Some(match from {
        VALID_FROM => Ok(()),
        "+15005550001" => Err((21212, "The 'From' number +15005550001 is not a valid phone number, shortcode, or alphanumeric sender ID.")),
        "+15005550007" => Err((21606, "The From phone number +15005550007 is not a valid, SMS-capable inbound phone number or short code for your account.")),
        "+15005550008" => Err((21611, "This 'From' number has exceeded the maximum number of queued messages")),
        _ => return None,
    })
}

/// What a magic `To` does to a new message.
pub fn message_to(to: &str) -> Option<Refusal> {
    Some(match to {
        "+15005550001" => (21211, "Invalid 'To' Phone Number: +15005550001"),
        "+15005550002" => (
            21612,
            "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone number via SMS.",
        ),
        "+15005550003" => (
            21408,
            "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +15005550003.",
        ),
        "+15005550004" => (21610, "Attempt to send to unsubscribed recipient"),
        "+15005550009" => (21614, "'To' number is not a valid mobile number"),
        _ => return None,
    })
}

/// What a magic `From` does to a new call.
pub fn call_from(from: &str) -> Option<Result<(), Refusal>> {
    Some(match from {
        VALID_FROM => Ok(()),
        "+15005550001" => Err((
            21212,
            "The 'From' number +15005550001 is not a valid phone number, shortcode, or alphanumeric sender ID.",
        )),
        _ => return None,
    })
}

/// What a magic `To` does to a new call.
pub fn call_to(to: &str) -> Option<Refusal> {
    Some(match to {
        "+15005550001" => (21217, "Phone number does not appear to be valid"),
        "+15005550002" => (21214, "'To' phone number cannot be reached"),
        "+15005550003" => (
            21215,
            "Account not authorized to call +15005550003. Perhaps you need to enable some international permissions",
        ),
        "+15005550004" => (21216, "Account not allowed to call +15005550004"),
        _ => return None,
    })
}

/// What buying a magic `PhoneNumber` does.
pub fn buy_number(number: &str) -> Option<Refusal> {
    Some(match number {
        "+15005550000" => (21422, "PhoneNumber +15005550000 is not available"),
        "+15005550001" => (21421, "PhoneNumber +15005550001 is invalid"),
        _ => return None,
    })
}

/// What buying in a magic `AreaCode` does.
pub fn buy_area_code(area_code: &str) -> Option<Refusal> {
    (area_code == "533").then_some((21452, "No phone numbers found in area code 533"))
}

/// How a text to a handset ends: delivered, or one of twirl's failing handsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Sent, but the handset never confirmed it (`undelivered`), with the carrier's error.
    Undelivered(u32, &'static str),
    /// Never sent (`failed`).
    Failed(u32, &'static str),
}

/// twirl's handsets whose texts do not arrive.
pub fn delivery_to(to: &str) -> Delivery {
    match to {
        "+15005550010" => Delivery::Undelivered(30003, "Unreachable destination handset"),
        "+15005550011" => Delivery::Undelivered(30005, "Unknown destination handset"),
        "+15005550012" => Delivery::Undelivered(30006, "Landline or unreachable carrier"),
        "+15005550013" => Delivery::Failed(30008, "Unknown error"),
        _ => Delivery::Delivered,
    }
}

/// The line type Lookup gives twirl's magic handsets: the one whose texts end `undelivered`
/// with 30006 (landline or unreachable carrier) is a landline, so Verify refuses to text it when a
/// service skips landlines.
pub fn line_type(number: &str) -> Option<&'static str> {
    (number == "+15005550012").then_some("landline")
}

/// What a magic `To` does to a new verification: twirl's handset that is always being sent
/// verifications already (Twilio's 60212), so the refusal can be tested.
pub fn verification_to(to: &str) -> Option<Refusal> {
    (to == "+15005550030").then_some((60212, "Too many concurrent requests for phone number +15005550030"))
}

/// How a call to a handset ends before anyone speaks: answered, or one of twirl's handsets that
/// are busy, do not answer, or cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answering {
    Answers,
    Busy,
    NoAnswer,
    Fails,
}

/// twirl's handsets whose calls are not answered.
pub fn answering(to: &str) -> Answering {
    match to {
        "+15005550020" => Answering::Busy,
        "+15005550021" => Answering::NoAnswer,
        "+15005550022" => Answering::Fails,
        _ => Answering::Answers,
    }
}
