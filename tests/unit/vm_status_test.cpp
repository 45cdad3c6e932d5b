// The table from CycleCloud's node statuses to what they mean (core/vm_status.h): every row,
// and the words that are not in it.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/vm_status.h"

namespace cb {
namespace {

TEST(VmStatusTable, EveryDocumentedStatusHasItsMeaning) {
    // CycleCloud's API reference lists these for a node's Status; Started and Unavailable
    // come from the public clients (docs/emulator.md).
    const std::pair<const char*, VmStatus> expected[] = {
        {"Off", VmStatus::k_off},
        {"Acquiring", VmStatus::k_acquiring},
        {"Preparing", VmStatus::k_preparing},
        {"Ready", VmStatus::k_ready},
        {"Started", VmStatus::k_ready},
        {"Failed", VmStatus::k_failed},
        {"Unavailable", VmStatus::k_unavailable},
        {"Terminating", VmStatus::k_terminating},
        {"Deallocating", VmStatus::k_deallocating},
        {"Deallocated", VmStatus::k_deallocated},
    };
    for (const auto& [text, status] : expected) {
        EXPECT_EQ(vm_status_from_text(text), status) << text;
        const VmStatusInfo* info = vm_status_info(status);
        ASSERT_NE(info, nullptr) << text;
        EXPECT_FALSE(info->meaning.empty()) << text;
        EXPECT_FALSE(info->handling.empty()) << text;
    }
    std::size_t count = 0;
    const VmStatusInfo* table = vm_status_table(count);
    EXPECT_EQ(count, std::size(expected)) << "a row without a test above";
    std::set<VmStatus> covered;
    for (std::size_t i = 0; i < count; ++i) {
        covered.insert(table[i].status);
    }
    EXPECT_EQ(covered.count(VmStatus::k_unknown), 0u);
}

TEST(VmStatusTable, StatusesNotInTheTableAreUnknown) {
    for (const char* text : {"", "ready", "READY", "Ready ", "Hibernating", "Deleting", "Reimaging",
                             "Stopped", "Ready\n"}) {
        EXPECT_EQ(vm_status_from_text(text), VmStatus::k_unknown) << '"' << text << '"';
    }
    EXPECT_EQ(vm_status_info(VmStatus::k_unknown), nullptr);
}

}  // namespace
}  // namespace cb
