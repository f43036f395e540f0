//! The hotline router copes with what tiny Whisper makes of 8 kHz phone
//! speech: homophones ("build" for "bill"), split and misspelled words,
//! dropped words, traditional characters, and paraphrases that appear nowhere
//! in the dialplan. These phrases were written apart from the dialplan's
//! examples, so the score measures generalisation, not recall.

#[path = "common/router.rs"]
mod router;

use router::{assert_routes, hotline_router};

/// (what a caller's speech was recognised as, the intent it should reach)
const NOISY: &[(&str, &str)] = &[
    ("what's my balanced", "check_balance"),
    ("how much do i own on my account", "check_balance"),
    ("ballance", "check_balance"),
    (
        "could you let me know what the balance is right now",
        "check_balance",
    ),
    ("how much money is still on the phone", "check_balance"),
    ("tell me what i owe you guys", "check_balance"),
    ("how much date have i used", "data_usage"),
    ("how many gig's are left", "data_usage"),
    ("am i running outta data", "data_usage"),
    ("did i blow through my data already", "data_usage"),
    ("data use age for this month", "data_usage"),
    ("i want to pay my build", "pay_bill"),
    ("can i pay the bill with a card", "pay_bill"),
    ("i wanna pay the phone bill", "pay_bill"),
    ("i need to put some money on my phone", "pay_bill"),
    ("take my card details for a payment", "pay_bill"),
    ("they over charge me on my bill", "bill_dispute"),
    (
        "there's charges on my build i don't recognise",
        "bill_dispute",
    ),
    ("i got billed twice for the same thing", "bill_dispute"),
    ("i never authorized this fee", "bill_dispute"),
    ("why did you charge me so much", "bill_dispute"),
    ("i want to up grade my plan", "change_plan"),
    ("i wanna switch to a cheaper package", "change_plan"),
    ("can i change my plane", "change_plan"),
    ("do you have a better deal for me", "change_plan"),
    ("move me to the unlimited plan", "change_plan"),
    ("my interned is down", "internet_outage"),
    ("the why fi at home is not working", "internet_outage"),
    ("i got no signal", "internet_outage"),
    ("internet's been out all day", "internet_outage"),
    ("my connection keeps cutting off", "internet_outage"),
    ("broad band is not working", "internet_outage"),
    ("i lost my fone", "lost_phone"),
    ("somebody stole my cell", "lost_phone"),
    ("i need to block the sim my phone is gone", "lost_phone"),
    ("i misplaced my phone", "lost_phone"),
    ("my mobile was stolen last night", "lost_phone"),
    (
        "i'm going to france next month will my phone work there",
        "roaming",
    ),
    ("roming charges", "roaming"),
    ("how do i use my phone over seas", "roaming"),
    ("i'm traveling to thailand", "roaming"),
    ("what does it cost to use data abroad", "roaming"),
    ("i want to cancel my account", "cancel_service"),
    ("i wanna cancer my service", "cancel_service"),
    ("i'm going to a different provider", "cancel_service"),
    ("close down my line please", "cancel_service"),
    ("terminate the contract", "cancel_service"),
    ("where's my re fund", "refund_status"),
    ("i'm still waiting on my money back", "refund_status"),
    ("what's happening with my refunds", "refund_status"),
    ("the refund hasn't come through", "refund_status"),
    ("what time do you guys open", "store_hours"),
    ("where's your closest shop", "store_hours"),
    ("are you open on the weekend", "store_hours"),
    ("what time does the store shut", "store_hours"),
    ("i want to file a complain", "complaint"),
    ("your staff was really rude to me", "complaint"),
    ("i'm really unhappy with the service i got", "complaint"),
    ("i'd like to lodge a complaint", "complaint"),
    ("查一下话费余额还有多少", "check_balance"),
    ("我的餘額", "check_balance"),
    ("流量用了多少了", "data_usage"),
    ("我的留量还有多少", "data_usage"),
    ("我想交一下话费", "pay_bill"),
    ("这个月扣费不对", "bill_dispute"),
    ("为什么多收了我的钱", "bill_dispute"),
    ("套餐想升级一下", "change_plan"),
    ("家里上不了网了", "internet_outage"),
    ("網路很慢", "internet_outage"),
    ("手机被偷了怎么办", "lost_phone"),
    ("我下个月去泰国 手机怎么漫游", "roaming"),
    ("我要注销这个号码", "cancel_service"),
    ("退款怎么还没到账", "refund_status"),
    ("营业厅周日开门吗", "store_hours"),
    ("你们服务太差我要投诉", "complaint"),
];

/// Requests for a person, often misrecognised; every one must reach a person.
const PERSON: &[&str] = &[
    "agent",
    "a gent",
    "agent agent agent",
    "representitive",
    "reprehensive please",
    "operator please",
    "can i talk to a real person",
    "human",
    "let me speak to someone",
    "i want to talk to a live person",
    "customer service representative",
    "get me a rep",
    "i need to talk to somebody",
    "transfer me to a human",
    "put me through to an operator",
    "connect me with a person",
    "i just want to speak to a human being",
    "can i speak to a person about my bill",
    "i lost my phone and i need to speak to someone",
    "i want an agent not a machine",
    "转人工",
    "人工客服",
    "我要找人工",
    "請幫我轉接人工服務",
    "我要人公服务",
    "我想跟真人说话",
];

#[test]
fn routes_noisy_paraphrases_to_the_right_intent() {
    let router = hotline_router();
    assert_routes(&router, NOISY, 0.85);
}

#[test]
fn every_request_for_a_person_reaches_human_agent() {
    let router = hotline_router();
    for text in PERSON {
        let got = router.classify(text);
        assert_eq!(
            got.intent.as_deref(),
            Some("human_agent"),
            "{text:?} gave {got:?}"
        );
        assert!(got.confidence >= 0.9, "{text:?} gave {got:?}");
    }
}
