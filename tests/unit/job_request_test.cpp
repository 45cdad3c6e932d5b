#include "core/job_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cb {
namespace {

const std::vector<std::string> k_requested{"cloud1", "cloud2", "cloud3", "cloud7", "cloud8"};

TEST(ResumeFile, ReadsSlurm2205Schema) {
    auto r = parse_resume_file(
        R"({"jobs":[{"job_id":2,"nodes":"cloud1"},{"job_id":3,"nodes":"cloud[2-3]"}],"all_nodes":"cloud[1-3]"})",
        k_requested);
    ASSERT_TRUE(r) << r.error().describe();
    ASSERT_EQ(r->jobs.size(), 2U);
    EXPECT_EQ(r->jobs[0].job_id, 2);
    EXPECT_EQ(r->jobs[0].nodes, std::vector<std::string>{"cloud1"});
    EXPECT_EQ(r->jobs[0].partition, "");
    EXPECT_EQ(r->jobs[1].job_id, 3);
    EXPECT_EQ(r->jobs[1].nodes, (std::vector<std::string>{"cloud2", "cloud3"}));
    EXPECT_EQ(r->skipped_count, 0U);
}

TEST(ResumeFile, ReadsSlurm2302SchemaWithNodesResumeNotNodesAlloc) {
    // The reference's verbatim 23.02+ shape: nodes_alloc is the whole allocation (some nodes
    // may be up already); nodes_resume the ones powered up now.
    auto r = parse_resume_file(
        R"({"jobs":[{"extra":null,"job_id":140815,"features":"c1,c2","nodes_alloc":"cloud[1-3]",
             "nodes_resume":"cloud[1-2]","oversubscribe":"OK","partition":"cloud","reservation":null}],
            "all_nodes_resume":"cloud[1-3,7-8]"})",
        k_requested);
    ASSERT_TRUE(r) << r.error().describe();
    ASSERT_EQ(r->jobs.size(), 1U);
    EXPECT_EQ(r->jobs[0].job_id, 140815);
    EXPECT_EQ(r->jobs[0].nodes, (std::vector<std::string>{"cloud1", "cloud2"}));
    EXPECT_EQ(r->jobs[0].partition, "cloud");
}

// nodes_alloc names the job's whole allocation, also nodes this call does not power up (up
// already, or woken in another call): kept apart from `nodes`, sorted, for the daemon to match
// against its own cloud nodes. 22.05's file has no such key.
TEST(ResumeFile, NodesAllocIsTheWholeAllocationKeptApart) {
    auto r = parse_resume_file(
        R"({"jobs":[{"job_id":9,"nodes_alloc":"cloud[7-8],onprem1,cloud1","nodes_resume":"cloud8"}]})",
        k_requested);
    ASSERT_TRUE(r) << r.error().describe();
    ASSERT_EQ(r->jobs.size(), 1U);
    EXPECT_EQ(r->jobs[0].nodes, std::vector<std::string>{"cloud8"});
    EXPECT_EQ(r->jobs[0].allocation,
              (std::vector<std::string>{"cloud1", "cloud7", "cloud8", "onprem1"}));
    EXPECT_EQ(r->skipped_count, 0U);

    r = parse_resume_file(R"({"jobs":[{"job_id":2,"nodes":"cloud1"}]})", k_requested);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->jobs.size(), 1U);
    EXPECT_TRUE(r->jobs[0].allocation.empty());
}

// An unreadable nodes_alloc costs the allocation, not the job; so does one past the file's
// allowance (checked before the list is expanded).
TEST(ResumeFile, AnUnreadableOrOversizedNodesAllocIsLeftOutAndTheJobKept) {
    const std::string huge = "cloud[1-" + std::to_string(k_max_allocation_names + 1) + "]";
    for (const std::string& alloc :
         {std::string(R"(42)"), std::string(R"("cloud[1-")"), "\"" + huge + "\""}) {
        auto r = parse_resume_file(
            R"({"jobs":[{"job_id":5,"nodes_resume":"cloud1","nodes_alloc":)" + alloc + "}]}",
            k_requested);
        ASSERT_TRUE(r) << alloc;
        ASSERT_EQ(r->jobs.size(), 1U) << alloc;
        EXPECT_EQ(r->jobs[0].nodes, std::vector<std::string>{"cloud1"});
        EXPECT_TRUE(r->jobs[0].allocation.empty()) << alloc;
        ASSERT_EQ(r->skipped.size(), 1U) << alloc;
        EXPECT_EQ(r->skipped[0].rfind("job 5: 'nodes_alloc' left out", 0), 0U) << r->skipped[0];
    }
}

TEST(ResumeFile, NoJobsIsEmptyNotAnError) {
    for (const char* text : {R"({"jobs":[],"all_nodes":"cloud1"})",
                             R"({"all_nodes_resume":"cloud1"})", R"({"jobs":null})"}) {
        auto r = parse_resume_file(text, k_requested);
        ASSERT_TRUE(r) << text;
        EXPECT_TRUE(r->jobs.empty()) << text;
    }
}

TEST(ResumeFile, MalformedDocumentsAreErrorsThatSayWhatIsExpected) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"", "SLURM_RESUME_FILE: not JSON (expected Slurm's {\"jobs\":[...],...})"},
        {"{\"jobs\":[", "SLURM_RESUME_FILE: not JSON (expected Slurm's {\"jobs\":[...],...})"},
        {"[1,2]", "SLURM_RESUME_FILE: not a JSON object (expected Slurm's {\"jobs\":[...],...})"},
        {R"({"jobs":{"job_id":1}})", "SLURM_RESUME_FILE: 'jobs' is not an array"},
        {std::string(100000, '[') + std::string(100000, ']'),
         "SLURM_RESUME_FILE: nested deeper than 16 levels; Slurm writes two"},
    };
    for (const auto& [text, message] : cases) {
        auto r = parse_resume_file(text, k_requested);
        ASSERT_FALSE(r) << text.substr(0, 40);
        EXPECT_EQ(r.error().kind, ErrorKind::k_invalid_input);
        EXPECT_EQ(r.error().message, message);
    }
}

TEST(ResumeFile, BracketsInsideStringsDoNotCountAsNesting) {
    std::string hostile = R"({"jobs":[{"job_id":1,"nodes":"cloud1","extra":")" +
                          std::string(1000, '[') + R"(\"[["}]})";
    auto r = parse_resume_file(hostile, k_requested);
    ASSERT_TRUE(r) << r.error().describe();
    ASSERT_EQ(r->jobs.size(), 1U);
}

TEST(ResumeFile, WrongTypesSkipTheJobWithAReasonThatQuotesNothingFromTheFile) {
    auto r = parse_resume_file(R"({"jobs":[
        {"job_id":"6","nodes":"cloud1"},
        {"job_id":-1,"nodes":"cloud1"},
        {"job_id":4294967296,"nodes":"cloud1"},
        {"job_id":1.5,"nodes":"cloud1"},
        {"job_id":7,"nodes":["cloud1"]},
        {"job_id":8},
        {"job_id":9,"nodes":"cloud[1-","partition":"c"},
        {"job_id":10,"nodes":"cloud1","partition":"c\n#Prolog=/tmp/x"},
        "job 11",
        {"job_id":12,"nodes":"cloud3"}]})",
                               k_requested);
    ASSERT_TRUE(r) << r.error().describe();
    ASSERT_EQ(r->jobs.size(), 1U);
    EXPECT_EQ(r->jobs[0].job_id, 12);
    EXPECT_EQ(r->skipped_count, 9U);
    EXPECT_EQ(r->skipped, (std::vector<std::string>{
                              "jobs[0]: 'job_id' is not a job id (an integer from 1)",
                              "jobs[1]: 'job_id' is not a job id (an integer from 1)",
                              "jobs[2]: 'job_id' is not a job id (an integer from 1)",
                              "jobs[3]: 'job_id' is not a job id (an integer from 1)",
                              "job 7: no hostlist string in 'nodes_resume' or 'nodes'",
                              "job 8: no hostlist string in 'nodes_resume' or 'nodes'",
                              "job 9: 'nodes' is not a hostlist of at most 5 nodes",
                              "job 10: 'partition' is not a partition name",
                              "jobs[8] is not an object",
                          }));
}

TEST(ResumeFile, NodesNotInTheHooksHostlistAreLeftOut) {
    auto r = parse_resume_file(
        R"({"jobs":[{"job_id":6,"nodes_resume":"cloud[1,9],onprem1"},{"job_id":7,"nodes":"onprem[1-2]"}]})",
        k_requested);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->jobs.size(), 1U);
    EXPECT_EQ(r->jobs[0].nodes, std::vector<std::string>{"cloud1"});
    EXPECT_EQ(r->skipped,
              (std::vector<std::string>{"job 6: 2 node(s) not in the hook's hostlist left out",
                                        "job 7: 2 node(s) not in the hook's hostlist left out"}));
}

TEST(ResumeFile, AHostlistLargerThanTheRequestIsRefusedBeforeItIsExpanded) {
    // 65536 * 16 names would be a million strings; the request has five.
    std::string nodes;
    for (int i = 0; i < 16; ++i) {
        nodes += (i == 0 ? "" : ",") + std::string("x") + std::to_string(i) + "-[1-65536]";
    }
    auto r =
        parse_resume_file(R"({"jobs":[{"job_id":1,"nodes":")" + nodes + R"("}]})", k_requested);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->jobs.empty());
    EXPECT_EQ(r->skipped,
              std::vector<std::string>{"job 1: 'nodes' is not a hostlist of at most 5 nodes"});
}

TEST(ResumeFile, TheSameJobTwiceIsOneJobWithBothNodeSets) {
    auto r = parse_resume_file(
        R"({"jobs":[{"job_id":6,"nodes":"cloud1"},{"job_id":6,"nodes":"cloud[1-2]","partition":"c"}]})",
        k_requested);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->jobs.size(), 1U);
    EXPECT_EQ(r->jobs[0].nodes, (std::vector<std::string>{"cloud1", "cloud2"}));
    EXPECT_EQ(r->jobs[0].partition, "c");
}

TEST(ResumeFile, TenThousandOneNodeJobs) {
    std::vector<std::string> requested;
    std::string text = R"({"all_nodes_resume":"hpc-[1-10000]","jobs":[)";
    for (int i = 1; i <= 10000; ++i) {
        requested.push_back("hpc-" + std::to_string(i));
        text += (i == 1 ? "" : ",");
        text +=
            R"({"job_id":)" + std::to_string(100 + i) + R"(,"nodes_alloc":"hpc-)" +
            std::to_string(i) + R"(","nodes_resume":"hpc-)" + std::to_string(i) +
            R"(","partition":"hpc","features":null,"extra":null,"oversubscribe":"OK","reservation":null})";
    }
    text += "]}";
    auto r = parse_resume_file(text, requested);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->jobs.size(), 10000U);
    EXPECT_EQ(r->jobs.back().job_id, 10100);
    EXPECT_EQ(r->jobs.back().nodes, std::vector<std::string>{"hpc-10000"});
    EXPECT_EQ(r->skipped_count, 0U);
}

TEST(ResumeFile, SkippedLinesAreCappedButCounted) {
    std::string text = R"({"jobs":[)";
    for (int i = 0; i < 50; ++i) {
        text += (i == 0 ? "" : ",") + std::string("{\"job_id\":0}");
    }
    text += "]}";
    auto r = parse_resume_file(text, k_requested);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->skipped.size(), 10U);
    EXPECT_EQ(r->skipped_count, 50U);
}

TEST(JobPhase, NamesRoundTrip) {
    for (auto p : {JobPhase::k_starting, JobPhase::k_started, JobPhase::k_failed}) {
        EXPECT_EQ(job_phase_from_string(to_string(p)), p);
    }
    EXPECT_FALSE(job_phase_from_string("running"));
}

}  // namespace
}  // namespace cb
