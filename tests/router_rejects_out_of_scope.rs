//! Requests the telecom hotline does not handle (weather, food, jokes,
//! sports, general knowledge...) are rejected with no intent instead of being
//! guessed into one. Written apart from the dialplan's own out-of-scope
//! examples, so this measures how rejection generalises.

#[path = "common/router.rs"]
mod router;

use router::hotline_router;

const OUT_OF_SCOPE: &[&str] = &[
    "what's the forecast for saturday",
    "is it going to snow tomorrow morning",
    "can you order me a pizza with extra cheese",
    "i'd like two large pizzas delivered to my house",
    "tell me something funny",
    "do you know any good jokes",
    "who won the world cup",
    "what time does the baseball game start",
    "how many points did the lakers score",
    "what's a good recipe for lasagna",
    "how far away is the moon",
    "find me a hotel in paris",
    "play my favorite playlist",
    "what's the traffic like on the highway",
    "who is the president of the united states",
    "where can i adopt a puppy",
    "i need a plumber for my kitchen sink",
    "book a haircut for friday afternoon",
    "what's the best sushi restaurant in town",
    "how old is the universe",
    "what is two plus two",
    "translate thank you into french",
    "what's the population of brazil",
    "can you recommend a good horror movie",
    "my cat won't eat her food",
    "how do i make pancakes",
    "when is the next bus to downtown",
    "what's the stock price of apple",
    "今天会下雨吗",
    "帮我叫一辆出租车",
    "讲个故事听听",
    "篮球比赛几点开始",
    "推荐一部好看的电影",
    "红烧肉怎么做",
];

#[test]
fn out_of_scope_requests_get_no_intent() {
    let router = hotline_router();
    let mut accepted = Vec::new();
    for text in OUT_OF_SCOPE {
        let got = router.classify(text);
        assert!((0.0..=1.0).contains(&got.confidence), "{text:?}: {got:?}");
        if let Some(intent) = &got.intent {
            accepted.push(format!("{text:?} -> {intent} ({:.2})", got.confidence));
        }
    }
    let rejected = 1.0 - accepted.len() as f32 / OUT_OF_SCOPE.len() as f32;
    println!(
        "rejected {rejected:.3} of {}; accepted:\n{}",
        OUT_OF_SCOPE.len(),
        accepted.join("\n")
    );
    assert!(
        rejected >= 0.9,
        "rejected only {rejected:.3}; accepted:\n{}",
        accepted.join("\n")
    );
}
